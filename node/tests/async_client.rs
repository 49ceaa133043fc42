//! The async client (`coalition_api::client::AsyncClient`, feature
//! `async-client`, the one a browser wallet uses) against a real node: it
//! reads what the blocking client reads, submits and follows a
//! transaction, and reports refusals with the node's code.

mod support;

use std::time::Duration;

use coalition_api::client::{AsyncClient, ClientError};
use coalition_core::currency::{CurrencyId, ExchangeRate, NoteLifetime};
use coalition_core::keys::IdentityKeys;
use coalition_ledger::genesis::Genesis;
use coalition_ledger::governance::Threshold;
use coalition_prover::governance::register_currency;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use support::RunningNode;

#[test]
fn the_async_client_reads_submits_and_reports_refusals() {
    let mut rng = ChaCha20Rng::seed_from_u64(71);
    let airline = IdentityKeys::random(&mut rng);
    let genesis = Genesis {
        name: "async-client-test".into(),
        timestamp_ms: 1_700_000_000_000,
        threshold: Threshold::new(1, 2).unwrap(),
        founders: vec![("airline".into(), *airline.public())],
        pool: None,
        settlement_epoch_blocks: 1_000_000,
        max_currencies_per_member: 8,
    };
    let dir = tempfile::tempdir().unwrap();
    let node = RunningNode::start_with(RunningNode::config(dir.path()), genesis, None);
    let blocking = node.client.clone();
    let client = AsyncClient::new(&format!("http://{}/", node.addr)).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        // The same genesis and chain as the blocking client reads.
        let genesis = client.genesis().await.unwrap();
        assert_eq!(genesis, blocking.genesis().unwrap());
        let status = client.status().await.unwrap();
        assert_eq!(status.chain, genesis.chain_id());

        // A submission is admitted, then committed.
        let miles = CurrencyId::new("MILES").unwrap();
        let tx = register_currency(
            genesis.chain_id(),
            &airline,
            0,
            miles,
            0,
            None,
            ExchangeRate::new(1, 1).unwrap(),
            NoteLifetime::Unlimited,
        );
        let id = client.submit(&tx).await.unwrap();
        assert_eq!(id, tx.id());
        let height = loop {
            match client.committed_height(&id).await.unwrap() {
                Some(Some(height)) => break height,
                Some(None) => tokio::time::sleep(Duration::from_millis(20)).await,
                None => panic!("the node forgot an admitted transaction"),
            }
        };
        let blocks = client.blocks(1, 64).await.unwrap();
        assert_eq!(blocks.len() as u64, height);
        assert!(blocks.last().unwrap().transactions.contains(&tx));
        assert_eq!(
            client.block(height).await.unwrap().unwrap(),
            blocking.block(height).unwrap().unwrap()
        );
        let (listed, _) = client.currencies().await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].policy.id, miles);
        assert_eq!(
            listed[0].issuer_nonce,
            blocking.currency(&miles).unwrap().unwrap().issuer_nonce
        );

        // The same again is refused with the node's code, and nothing
        // changed.
        let state = client.status().await.unwrap();
        match client.submit(&tx).await {
            Err(ClientError::Refused { status, code, .. }) => {
                assert_eq!((status, code.as_str()), (409, "already_committed"))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(client.status().await.unwrap().height, state.height);

        // Absent things are `None`, not errors; a bad path parameter is a
        // refusal; an unreachable node is a transport error.
        assert!(client.block(height + 100).await.unwrap().is_none());
        assert!(client
            .committed_height(&coalition_core::transaction::TxId([7; 32]))
            .await
            .unwrap()
            .is_none());
        match client.get_as::<serde_json::Value>("/v1/blocks/abc").await {
            Err(ClientError::Refused {
                status: 400, code, ..
            }) => assert_eq!(code, "malformed"),
            other => panic!("{other:?}"),
        }
        let gone = AsyncClient::new("http://127.0.0.1:9").unwrap();
        assert!(matches!(
            gone.status().await,
            Err(ClientError::Transport(_))
        ));
    });
    node.stop();
}

/// A hostile "node" that streams a chunked answer without end is cut off
/// at the response bound, however little it announces.
#[test]
fn an_endless_chunked_answer_is_refused_at_the_bound() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                        transfer-encoding: chunked\r\n\r\n";
            socket.write_all(head.as_bytes()).await.unwrap();
            let chunk = vec![b' '; 1 << 20];
            let mut sent = 0usize;
            // Until the client hangs up, well past the bound.
            while sent < 4 * coalition_api::client::MAX_RESPONSE_BYTES {
                let frame = format!("{:x}\r\n", chunk.len());
                if socket.write_all(frame.as_bytes()).await.is_err()
                    || socket.write_all(&chunk).await.is_err()
                    || socket.write_all(b"\r\n").await.is_err()
                {
                    return sent;
                }
                sent += chunk.len();
            }
            sent
        });
        let client = AsyncClient::new(&format!("http://{addr}")).unwrap();
        match client.status().await {
            Err(ClientError::Malformed(reason)) => assert!(reason.contains("too large")),
            other => panic!("{other:?}"),
        }
        let sent = server.await.unwrap();
        assert!(
            sent < 2 * coalition_api::client::MAX_RESPONSE_BYTES,
            "{sent}"
        );
    });
}
