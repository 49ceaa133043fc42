//! `coalition devnet`: a development coalition of several partner nodes on
//! loopback ports, replicating with Raft (spec §20). INSECURE: partners use
//! development identities anyone can derive.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use coalition_core::encoding::Encode;
use coalition_node::config::dev_identity;

/// Partner names, in order: the first `--nodes` are founders, the next
/// `--joiners` get configurations but are not members yet.
pub const DEVNET_PARTNERS: [&str; 8] = [
    "airline", "hotel", "grocer", "rail", "cafe", "cinema", "fuel", "books",
];

#[derive(Subcommand)]
pub enum DevnetCommand {
    /// Write the genesis and one node configuration per partner.
    Init(DevnetArgs),
    /// Write them if missing, start every founder's node and wait for ctrl-c.
    Up(DevnetArgs),
}

#[derive(Args, Clone)]
pub struct DevnetArgs {
    /// Founding partners, each running a node.
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Further partners with a configuration but not yet members (admit
    /// them by vote, then start their nodes).
    #[arg(long, default_value_t = 0)]
    joiners: usize,
    /// Where the configurations and data go.
    #[arg(long, default_value = "coalition-devnet")]
    dir: PathBuf,
    /// Node i listens on 127.0.0.1:(base-port + i).
    #[arg(long, default_value_t = 7100)]
    base_port: u16,
    /// Block interval of every node.
    #[arg(long, default_value_t = 100)]
    block_interval_ms: u64,
    /// Entries applied before a snapshot is built.
    #[arg(long, default_value_t = 1000)]
    snapshot_after_entries: u64,
    /// Entries kept in the log behind a snapshot.
    #[arg(long, default_value_t = 200)]
    keep_entries_after_snapshot: u64,
    /// Give every node a certificate bound to its partner (`node.crt`,
    /// `node.key`) and a `[tls]` section: the API over TLS, mutual TLS
    /// between the nodes.
    #[arg(long)]
    tls: bool,
}

pub fn run(command: DevnetCommand) -> Result<()> {
    match command {
        DevnetCommand::Init(args) => {
            init(&args)?;
            println!(
                "devnet written to {} ({} founders, {} joiners)",
                args.dir.display(),
                args.nodes,
                args.joiners
            );
            Ok(())
        }
        DevnetCommand::Up(args) => up(&args),
    }
}

fn toml_string(path: &Path) -> Result<String> {
    let text = path
        .to_str()
        .context("the devnet directory must be valid UTF-8")?;
    Ok(format!("{text:?}"))
}

/// Writes `genesis.toml` and `<partner>/node.toml` for every partner.
fn init(args: &DevnetArgs) -> Result<()> {
    if args.nodes == 0 || args.nodes + args.joiners > DEVNET_PARTNERS.len() {
        bail!(
            "--nodes must be at least 1 and --nodes + --joiners at most {}",
            DEVNET_PARTNERS.len()
        );
    }
    if usize::from(args.base_port) + args.nodes + args.joiners > usize::from(u16::MAX) {
        bail!("--base-port leaves no room for every node");
    }
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating {}", args.dir.display()))?;
    let dir = std::fs::canonicalize(&args.dir)?;
    let founders = &DEVNET_PARTNERS[..args.nodes];
    let mut genesis = String::from(
        "# INSECURE development coalition: every identity derives from its name.\n\
         name = \"coalition-devnet\"\n\
         timestamp_ms = 1767225600000\n\
         threshold = [2, 3]\n\
         settlement_epoch_blocks = 20\n\
         shielded_pool = \"insecure-dev\"\n",
    );
    for name in founders {
        genesis.push_str(&format!(
            "\n[[founders]]\nname = \"{name}\"\nidentity = \"{}\"\n",
            hex::encode(dev_identity(name).public().to_bytes())
        ));
    }
    let genesis_path = dir.join("genesis.toml");
    std::fs::write(&genesis_path, genesis)?;
    let addr = |i: usize| format!("127.0.0.1:{}", usize::from(args.base_port) + i);
    for (i, name) in DEVNET_PARTNERS[..args.nodes + args.joiners]
        .iter()
        .enumerate()
    {
        let node_dir = dir.join(name);
        std::fs::create_dir_all(&node_dir)?;
        let tls = if args.tls {
            let (cert, key) = (node_dir.join("node.crt"), node_dir.join("node.key"));
            // A fresh key each init: the old one goes first.
            let _ = std::fs::remove_file(&key);
            crate::keyfile::write_tls_files(
                &dev_identity(name),
                &["localhost".into(), "127.0.0.1".into()],
                30,
                &cert,
                &key,
            )?;
            format!(
                "\n[tls]\ncertificate = {}\nkey = {}\n",
                toml_string(&cert)?,
                toml_string(&key)?
            )
        } else {
            String::new()
        };
        let peers: Vec<String> = founders
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(j, peer)| format!("{{ name = \"{peer}\", addr = \"{}\" }}", addr(j)))
            .collect();
        let config = format!(
            "# Partner {name}'s node (devnet; INSECURE dev identity).\n\
             data_dir = {data}\n\
             listen = \"{listen}\"\n\
             genesis = {genesis}\n\
             dev_mode = true\n\
             block_interval_ms = {interval}\n\
             \n\
             [replication]\n\
             dev_identity = \"{name}\"\n\
             peers = [{peers}]\n\
             snapshot_after_entries = {snap}\n\
             keep_entries_after_snapshot = {keep}\n{tls}",
            data = toml_string(&node_dir.join("data"))?,
            listen = addr(i),
            genesis = toml_string(&genesis_path)?,
            interval = args.block_interval_ms,
            peers = peers.join(", "),
            snap = args.snapshot_after_entries,
            keep = args.keep_entries_after_snapshot,
        );
        std::fs::write(node_dir.join("node.toml"), config)?;
    }
    Ok(())
}

/// Kills the children when dropped (also on an error or ctrl-c).
struct Children(Vec<(String, Child)>);

impl Drop for Children {
    fn drop(&mut self) {
        for (_, child) in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn up(args: &DevnetArgs) -> Result<()> {
    if !args.dir.join("genesis.toml").exists() {
        init(args)?;
    }
    let dir = std::fs::canonicalize(&args.dir)?;
    let exe = std::env::current_exe().context("locating the coalition binary")?;
    let mut children = Children(Vec::new());
    for name in &DEVNET_PARTNERS[..args.nodes] {
        let config = dir.join(name).join("node.toml");
        if !config.exists() {
            bail!(
                "{} is missing: run `coalition devnet init` again",
                config.display()
            );
        }
        let log = std::fs::File::create(dir.join(name).join("node.log"))?;
        let child = Command::new(&exe)
            .arg("node")
            .arg("--config")
            .arg(&config)
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("starting {name}'s node"))?;
        children.0.push((name.to_string(), child));
    }
    println!(
        "devnet: {} partner nodes (INSECURE dev identities), logs in {}/<partner>/node.log",
        args.nodes,
        dir.display()
    );
    for (i, name) in DEVNET_PARTNERS[..args.nodes].iter().enumerate() {
        println!(
            "  {name:8} http://127.0.0.1:{}   (status: /v1/replication)",
            usize::from(args.base_port) + i
        );
    }
    println!("ctrl-c stops them all");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut ticker = tokio::time::interval(std::time::Duration::from_millis(500));
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => return Ok(()),
                _ = ticker.tick() => {
                    for (name, child) in &mut children.0 {
                        if let Some(status) = child.try_wait()? {
                            bail!("{name}'s node exited ({status}); see its node.log");
                        }
                    }
                }
            }
        }
    })
}
