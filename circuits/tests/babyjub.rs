//! Baby Jubjub: the native curve against circomlib's published vectors
//! (circomlibjs `test/babyjub.js`), the gadgets against the native curve,
//! and the strict encoding.

use ark_bn254::Fr;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{Field, PrimeField, UniformRand};
use ark_r1cs_std::prelude::*;
use ark_relations::gr1cs::{ConstraintSystem, ConstraintSystemRef};
use coalition_circuits::babyjub::{
    self,
    curve::GENERATOR,
    gadget::{fixed_base_mul, scalar_bits_witness, PointVar, SCALAR_BITS},
    Point, PointError, ProjectivePoint, Scalar,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(0xBAB1)
}

fn fe(decimal: &str) -> Fr {
    decimal.parse().unwrap()
}

fn point(x: &str, y: &str) -> Point {
    let p = Point::new_unchecked(fe(x), fe(y));
    assert!(p.is_on_curve(), "vector off the curve");
    p
}

/// circomlib's test points: `P`, `Q` and `2P`.
fn p() -> Point {
    point(
        "17777552123799933955779906779655732241715742912184938656739573121738514868268",
        "2626589144620713026669568689430873010625803728049924121243784502389097019475",
    )
}

fn q() -> Point {
    point(
        "16540640123574156134436876038791482806971768689494387082833631921987005038935",
        "20819045374670962167435360035096875258406992893633759881276124905556507972311",
    )
}

fn two_p() -> Point {
    point(
        "6890855772600357754907169075114257697580319025794532037257385534741338397365",
        "4338620300185947561074059802482547481416142213883829469920100239455078257889",
    )
}

/// A decimal integer below `p` as limbs, for `mul_bigint`.
fn scalar(decimal: &str) -> Vec<u64> {
    fe(decimal).into_bigint().0.to_vec()
}

#[test]
fn native_curve_matches_circomlib_vectors() {
    let identity = Point::zero();
    assert_eq!((identity + identity).into_affine(), identity);
    assert_eq!((p() + p()).into_affine(), two_p());
    assert_eq!(
        (p() + q()).into_affine(),
        point(
            "7916061937171219682591368294088513039687205273691143098332585753343424131937",
            "14035240266687799601661095864649209771790948434046947201833777492504781204499",
        )
    );
    assert_eq!(
        p().mul_bigint([3u64]).into_affine(),
        point(
            "19372461775513343691590086534037741906533799473648040012278229434133483800898",
            "9458658722007214007257525444427903161243386465067105737478306991484593958249",
        )
    );
    assert_eq!(
        p().mul_bigint(scalar(
            "14035240266687799601661095864649209771790948434046947201833777492504781204499"
        ))
        .into_affine(),
        point(
            "17070357974431721403481313912716834497662307308519659060910483826664480189605",
            "4014745322800118607127020275658861516666525056516280575712425373174125159339",
        )
    );
    assert_eq!(
        two_p()
            .mul_bigint(scalar(
                "20819045374670962167435360035096875258406992893633759881276124905556507972311"
            ))
            .into_affine(),
        point(
            "13563888653650925984868671744672725781658357821216877865297235725727006259983",
            "8442587202676550862664528699803615547505326611544120184665036919364004251662",
        )
    );
    // Base8 = 8·Generator; both test points are in the prime-order subgroup.
    assert_eq!(GENERATOR.mul_by_cofactor(), babyjub::base());
    assert!(!GENERATOR.is_in_correct_subgroup_assuming_on_curve());
    for pt in [p(), two_p(), babyjub::base()] {
        assert!(pt.is_in_correct_subgroup_assuming_on_curve());
    }
    // l·B = 0.
    assert!(babyjub::base()
        .mul_bigint(Scalar::MODULUS)
        .into_affine()
        .is_zero());
}

#[test]
fn encoding_matches_circomlib_and_is_strict() {
    for (pt, hex) in [
        (
            p(),
            "53b81ed5bffe9545b54016234682e7b2f699bd42a5e9eae27ff4051bc698ce85",
        ),
        (
            two_p(),
            "e114eb17eddf794f063a68fecac515e3620e131976108555735c8b0773929709",
        ),
    ] {
        let bytes = babyjub::encode(&pt);
        assert_eq!(hex::encode(bytes), hex);
        assert_eq!(babyjub::decode(&bytes), Ok(pt));
        assert_eq!(babyjub::decode_prime_order(&bytes), Ok(pt));
    }
    // Round trip of random subgroup points and their negations.
    let mut rng = rng();
    for _ in 0..32 {
        let pt = (babyjub::base() * Scalar::rand(&mut rng)).into_affine();
        for candidate in [pt, -pt] {
            assert_eq!(babyjub::decode(&babyjub::encode(&candidate)), Ok(candidate));
        }
    }
    // y ≥ p.
    let mut big_y = [0xff; 32];
    big_y[31] = 0x7f;
    assert_eq!(babyjub::decode(&big_y), Err(PointError::NonCanonicalY));
    let mut modulus = [0u8; 32];
    use ark_ff::BigInteger;
    modulus.copy_from_slice(&Fr::MODULUS.to_bytes_le());
    assert_eq!(babyjub::decode(&modulus), Err(PointError::NonCanonicalY));
    // The identity (0, 1): decodes, but is no key; with the sign bit set it
    // is a second encoding of the same point and refused.
    let identity = babyjub::encode(&Point::zero());
    assert_eq!(babyjub::decode(&identity), Ok(Point::zero()));
    assert_eq!(
        babyjub::decode_prime_order(&identity),
        Err(PointError::Identity)
    );
    let mut signed = identity;
    signed[31] |= 0x80;
    assert_eq!(babyjub::decode(&signed), Err(PointError::NonCanonicalSign));
    // A y no point has (found by search), and a point of order 8·l.
    let mut off = None;
    for k in 2u64.. {
        let bytes = {
            let mut b = [0u8; 32];
            b[..8].copy_from_slice(&k.to_le_bytes());
            b
        };
        if babyjub::decode(&bytes) == Err(PointError::NotOnCurve) {
            off = Some(bytes);
            break;
        }
    }
    assert!(off.is_some());
    let torsion = babyjub::encode(&GENERATOR);
    assert!(babyjub::decode(&torsion).is_ok());
    assert_eq!(
        babyjub::decode_prime_order(&torsion),
        Err(PointError::NotInSubgroup)
    );
}

fn witness(cs: &ConstraintSystemRef<Fr>, pt: &Point) -> PointVar {
    PointVar::new_witness(cs.clone(), Some(pt)).unwrap()
}

#[test]
fn gadget_addition_equals_native_and_circomlib() {
    let mut rng = rng();
    let random = |rng: &mut ChaCha20Rng| (babyjub::base() * Scalar::rand(rng)).into_affine();
    let mut pairs = vec![
        (p(), p()),
        (p(), q()),
        (Point::zero(), p()),
        (p(), -p()),
        (GENERATOR, p()),
    ];
    for _ in 0..8 {
        pairs.push((random(&mut rng), random(&mut rng)));
    }
    for (a, b) in pairs {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let (va, vb) = (witness(&cs, &a), witness(&cs, &b));
        let before = cs.num_constraints();
        let sum = va.add(&vb).unwrap();
        assert_eq!(cs.num_constraints() - before, 6, "addition costs 6");
        assert_eq!(sum.value().unwrap(), (a + b).into_affine());
        assert!(cs.is_satisfied().unwrap());
        // Claiming another sum is unsatisfiable.
        let wrong = witness(&cs, &(a + b + babyjub::base()).into_affine());
        sum.enforce_equal(&wrong).unwrap();
        assert!(!cs.is_satisfied().unwrap());
    }
}

#[test]
fn gadget_refuses_points_off_the_curve() {
    let cs = ConstraintSystem::<Fr>::new_ref();
    let on = p();
    let _ = witness(&cs, &on);
    assert_eq!(cs.num_constraints(), 4);
    assert!(cs.is_satisfied().unwrap());
    let off = Point::new_unchecked(on.x, on.y + Fr::ONE);
    assert!(!off.is_on_curve());
    let _ = witness(&cs, &off);
    assert!(!cs.is_satisfied().unwrap());
}

#[test]
fn fixed_base_multiplication_equals_native() {
    let mut rng = rng();
    let mut scalars = vec![
        Scalar::from(0u64),
        Scalar::from(1u64),
        Scalar::from(7u64),
        Scalar::from(8u64),
        -Scalar::from(1u64),
    ];
    for _ in 0..6 {
        scalars.push(Scalar::rand(&mut rng));
    }
    for base in [babyjub::base(), p()] {
        for k in &scalars {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let bits = scalar_bits_witness(cs.clone(), Some(k)).unwrap();
            assert_eq!(bits.len(), SCALAR_BITS);
            let before = cs.num_constraints();
            let product = fixed_base_mul(&bits, &base).unwrap();
            let windows = SCALAR_BITS / 3;
            assert_eq!(
                cs.num_constraints() - before,
                3 * windows + 6 * (windows - 1)
            );
            assert_eq!(product.value().unwrap(), (base * k).into_affine());
            assert!(cs.is_satisfied().unwrap());
        }
    }
    // circomlib's vector through the gadget: 3·P.
    let cs = ConstraintSystem::<Fr>::new_ref();
    let bits: Vec<Boolean<Fr>> = [true, true, false]
        .iter()
        .map(|b| Boolean::new_witness(cs.clone(), || Ok(*b)).unwrap())
        .collect();
    let product = fixed_base_mul(&bits, &p()).unwrap();
    assert_eq!(
        product.value().unwrap(),
        (ProjectivePoint::from(p()) * Scalar::from(3u64)).into_affine()
    );
    // A wrong claimed product is unsatisfiable.
    let k = Scalar::rand(&mut rng);
    let cs = ConstraintSystem::<Fr>::new_ref();
    let bits = scalar_bits_witness(cs.clone(), Some(&k)).unwrap();
    let product = fixed_base_mul(&bits, &babyjub::base()).unwrap();
    let claimed = witness(
        &cs,
        &(babyjub::base() * (k + Scalar::from(1u64))).into_affine(),
    );
    product.enforce_equal(&claimed).unwrap();
    assert!(!cs.is_satisfied().unwrap());
}
