//! challenge-bypass-ristretto's own non-RFC test vectors (crate 2.1.0, identical in 1.0.1, the
//! version ZKAPAuthorizer's binding wraps) run through the functions redemption itself uses:
//! `RandomTokens::decode` (stored tokens), `blind`/`encode_blinded` (the request) and
//! `verify_and_unblind` (the answer). Only the vector data is taken from the crate
//! (`src/oprf.rs` `vector_tests`, `src/dleq.rs` `batch_vector_tests`); the checks are ours.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use challenge_bypass_ristretto::voprf::{BatchDLEQProof, BlindedToken, SignedToken, SigningKey};
use rand::rngs::OsRng;
use sha2::{Digest, Sha512};

use super::{ProofError, RandomTokens, encode_blinded};

/// `oprf.rs`: (signing key k, public key Y, token seed, blind r, blinded P = r·T,
/// signed Q = k·P, unblinded W = k·T), where the preimage t = SHA-512(seed).
const OPRF: [[&str; 7]; 10] = [
    [
        "SlPD+7xZlw7l+Fr4E4dd/8E6kEouU65+ZfoN6m5iyQE=",
        "nGajOcg0T5IvwyBstdroFKWUwBd90yNcJU2cQJpluAg=",
        "nwfnvlVROHqYupd8cy0IDcsPKaBI42VpEsZTPjLueu0ptyF2nOZOQ9VxM7B02DnVMe0fKFEK+0Ws4QofS3lNbw==",
        "rBKvQjzCywrH+WAHjvVpB4P59cy1A0CCcYjeUioWdA0=",
        "iKt8hXS7Zyqy5/xbbknh/CuCmQM+Cti6uOibdKZBlEM=",
        "OFccZ1mrx9SSrRSoj95nEVmkbMAdggfpj6haKO0BrQQ=",
        "JFJyI4tUdjjtud9a4qZalp5i9QY4I0x/VhChVu4P714=",
    ],
    [
        "7oD3U1ZwWQN/2eZhiXfHtnwmhR+yl3P7Gta+T123awI=",
        "vtiIh6vgqE9kaR/gvfo9rxps1pehPweuB1iJEM45ySc=",
        "5aaIdCtHxa37WdTfdv0dseUe4Dscqfgqyhc+24tyk0dOvpgPkE0QyRZEK0eDoOmEhgy2yVeznDjtj1HP+qaKTQ==",
        "yhpWSFSxFQRlZH9QtcmCrL1p27dYMEKs+sub7hfVbA8=",
        "qDUfb1GhqEsJg2MEo0jI5fUDsKitwSSkV6kaF3wWHBU=",
        "goTV+GGlPyIodeEfRu62nWVJFpj3lXMjZY6w4ABaolc=",
        "sgJfuuExkd+VoIXOr9gv+M7VlRnjnUtveVzWcOY6YzM=",
    ],
    [
        "tviSLm/W8oFds67y9lMs990fjh08hQNV17/4V2bmOQY=",
        "5ufRlCvVKvXp1yuxxS7Jvw9LSwQUl6Q/MlT6HY2l1Hc=",
        "7aq3TaFBD8BV6gaMmekmCsvjN89dPgDlsyMP/tsLmQeH0McOC/5BmOpnWN1aYftf7C35gfMb7+FT+B0XFheE2w==",
        "Ge3prZ2jJSoh1A3ZvrSfaSA1kDziGW2I+Gmh6jniaAs=",
        "pOTANELrS8oor67hIYyCvrbmlMrn6Fr+04nBmFgrvxU=",
        "JjbfZ+UifRtHLdxcvVdI6C2SXYls9aWS0UyS6vyfCAY=",
        "Ki8Vb+Fm7qqeeL63/Oco95UaMOO62bRGq2fMTz5xPU8=",
    ],
    [
        "2srhyAUoqF+s2y+NfSXluDXVxC7JBgiD2ttOSXBYPww=",
        "HhdUX1s812RxwznoreV7i/BHvj2Xy9tJo24GxNDmtF8=",
        "bQqtuvgVfQYqyyQYwXakdVEbNcP2IYpWaOpbxvVLh4L4s0DwCsG+ul5izWMqfOeAnHJWCKyl7798QfI3ZD8GwA==",
        "gfes2hjQSpt6QOBJnz4t/N/utBkdDS+W4GRQIYjb/wQ=",
        "ZnaqI3kpS5nh9B3jw6uOeUld//Q2+olaAlimWRFvcDE=",
        "0pISjRRLsiYWLzqiukHe1xkIEuDmibUcg9m/5zcPwSo=",
        "2lSAwKDv4mdzZuMSEEngBXSQBJRJoprzqKMtX9Bi/zs=",
    ],
    [
        "pfwD6XL8PnQfJPuzg/LKKVf3QRLc4ZclvC+6GBBETgo=",
        "Vv9rfOewgYx7jHMyfAZfBFEBt5IuwIKwz2NbDpra+UM=",
        "FtP6gVFikwP+l0FWLtBl2068AFDvVYNkroESSij1wBMTIy+8SW39iiVoZXtobXIUOCoaAJAwF92paYeEQrpa/w==",
        "xrF8ZzEtEsGbRfJGjULVkNisgpaAO69AHZKYhyQmng4=",
        "rHUztBaoMDDVwOTnOxFQgEOEeG6lKBL7Tb+fluztCxo=",
        "dhQv3WoCFW+EcV1dpCARarugjhU/enn0UlamXDPoFxc=",
        "GgWeq8r+ZRsPJa50bP7y3kVAq7yBSSN8eM0oOn/U2CM=",
    ],
    [
        "xNWxYjBW6Sty2Yy33S38IPkX6v4zAwK10Ge/WPxVVwU=",
        "GrqZp9KBIAi1mExq2VUhG8lIuNO/J9Ap4xATdJ5TfmM=",
        "xP/wuGwC7WYtLSUiZHofCaey+e6lbn4gsfBszdnOw347LSCBLfNpl4Y2wiZGYDZ1gEEEdF0pl+KN9dgkKq0ZyA==",
        "RclUsYJkWG7Uw0tM/rn+nyvDey/Ibwl7WkmmvkIPWwc=",
        "fiD5jlU2Bhu+chVrhWKvZTaVJnbmBTpDcfEAH9Kcjg4=",
        "mCFMTFdnxZ/gvTnVNGMmZkXWqlnnZH3JnwDKhTBT3x0=",
        "krmSP8LTAA0O35g7uk+o7MMYTl2qACiWu+CDZXtQJSo=",
    ],
    [
        "lE2Tu2LzhNgU77KnsEFbqVYOc5wsbMYYzBQOcpi32Ag=",
        "EuJk2I4y6ZrbIn04deR+lzJS1xrBIpN+RthbPknv+gA=",
        "DPw4xN363pkKIT0gj794mDNPTe7X5YMP0mZ1ExVDWuGbuU9NPckmUvJD3R+W81latHPSNW2PqPbWTMT2SxLKmQ==",
        "Dbpt5WypybRRaQiInYndWLf/O2ewT3IEYOOdxKywNg8=",
        "QJH62wtVRKX0Eq1GTWVyAVuML0mpEl18VvxFn3TvTDI=",
        "TMRELsL1kWbyRNLQhWuIyU2j7M2FJk0trp+uR1w4hHw=",
        "nDiCPlbQ6HfR3MX9jRqY3id4DWo3GaZ1FvUfkmAjWyg=",
    ],
    [
        "Tmfvkm6Kvi/BWAvqNsGsdQzJTI9tkGa4Sr0dNPTMCwc=",
        "iPXJcLCmT9SYYVYVfNx6br3VG1rHHF2hIrD2cVx8YGE=",
        "BdOrSDfezktj/f1d0HordqjIJWbfGiFn2uXhJbaqDna52ZyoRmT1Du6lTkSfDlhwORN/V1Q9iSBUgxQckzFmtg==",
        "0web3hpMwnqhIhu9mjAKNLfmFdJUfY3pu4clcs0G8AQ=",
        "Qll/1fI1hlcc3Dm6xtfo3LlJwu6fgoffCZ3VzzQvCAs=",
        "KNbnK4jL8SThHByYWWrzdpZHxvrTVid7aBYHnZD2BW0=",
        "Lti4tRDBQzwNIiTbGpPVVViHMvCEfC7ov2Ne3LrQdRg=",
    ],
    [
        "N8oRiMuSrYdp9TMKp++AP8ridXqdX6BoPOucx2eRCQE=",
        "mnikks9ySHzZGMgoPZ0SRA8/JJkMh5aA+m3eqeMfqTE=",
        "9sNH3G618rH0vy3TKBMNRQDKOb66LUKBo9jOtMsezeN4sgAp+2pMVDMS5BATkVxXAW5dpoGUTMJ3+cfnX0plSg==",
        "f44zH9r/YnCyaHZnKtEc/68diotEo1GjQ5MWepNEXAk=",
        "EEH0FTbmxN5XoXnAHmIH0y4VjcixJ5U9T8WqXgP2IAg=",
        "Km0KASMeIqj0s5vswz+WEYptTx2Y0fOb9cVjb+UKexw=",
        "lNDdKND+R/JmDrM08Q7w7ePoXT7/hgzGU6xVBU5RFig=",
    ],
    [
        "Nye8fMOQJv1HjCY6qxG0Br661wjd8OwNI1O0ZbkmGAc=",
        "5szoRS3/9jdVTmhswiS9yyaLeC2I0CfBAUzfe0zGjz8=",
        "OkOqxU+boJmNIhmzusoRGUDVJLfPlGd9bFV3UPpNueEHfu21um4zwQSuJUQ8hr8VgzU63fb93Rmk/0kRiOPUhw==",
        "ZBztTnJvQKmPkxfgzGzufhRa6o4oUPublpOIhODHKA4=",
        "lD1eLLmRw7ebLOd51OQSps51cZGTIg2DM+GL38bQQww=",
        "qA27hu9S60UX0jfnWJQgUBllQvfOPu+jQVkphi6Sv24=",
        "HhPZFQiNAYzG+niNmUiWut2g/YMhox86h1XyZypQfVk=",
    ],
];

/// `dleq.rs`: (k, Y, blinded tokens P_i, signed tokens Q_i, composite M, composite Z, batch
/// proof), the lists comma-separated.
const BATCH: [[&str; 7]; 5] = [
    [
        "8n06lJH/lkGHsPVPehyAwYA4BX97JbFmDmJzPO1oIQE=",
        "4KbMr7/9/ZxNG2Baixy/3MFFOCzFFfJLjsUAoetKOjo=",
        "xGUA5fGnGgvg1zzC3mWeq7K2jqVBfJwJ2uJ6upqPxgA=,LHTaaZi7YqIsuqJ1P+HV8vYIwHFKePF+xton737J3SE=,8MFJE9IYULJT+LsiI3h+kDLc4rmd809utaDo1xic3GQ=,HOMibeqOkyJsN+N5eRJrQkAT+G32L6eOhU+1/Drsbks=,PGLb/Ael7MnFYaS6YjCR/lRIkKONoAsEKuJ5SRvJMwg=",
        "fgOAdXLxUs/pfT3ustR9mBbUyIbcx1Nis0zWuIz8TS8=,Lh0ekCvZ0cWhDTTxUQV3frSb2+hW9mDWunYWGv/foTA=,EvA36hZe6DD9WOU/F7rnJ8kgXyUgDZ908Li4F1IqAko=,gtbw9qu9qpp1nYEejzzhsWkMyOM8kbvOOMBTdArj82E=,ypADHr5ETijWYAQTw9f6J7OSIk24S1JwBVrgrIsAAE8=",
        "jhS4wBez3EdGoGEW4ENMW0UpZHn1aiJa9WUWp5RJHyk=",
        "xJfJMAnGI0ZrEuJcuBaa7cZ84HCe62f9eWIQE2JeiUU=",
        "X9bPqHlbzd+PzBCTMoZMdF8joNsbZkODlPABwhgD7w3XLP6J8BQP80bfgagB3pXWwa0Uhd1NquBhOL5uCNy9DA==",
    ],
    [
        "iE4eMIMtnV1rgsSMpuE9rfT486QnmuyNAsDB8JSwkgI=",
        "MIo6R2WZkAylW7XeUOwcYClUOpXj9wZ14Tr6wYY7FDs=",
        "flw+gZoFAcOlEPmGqr3LliVkshxK5XfBNlow5X+clSs=,roiJVY4XvfsBh6iGSzz9OM/40Nx4VrG9SriyifVOc0A=,UMnZMVFyE9keC0PSx2KSZ2Y8DEM8tT6/XGQAV6AXGBg=,dPcHlc7Q3X/9F9uKd4T2bCk9uOANGBoh72N4tyn/6Xg=,pHS/yXXFw+wYP8FOAqKFCyzuI8552dyKoaEVcA9PXnw=",
        "sL8mkkfISTi+0cvfZLaB+bb0zbp9vSo3WEt8Q/t5VR0=,quVLKurPfGk/waJnPXniatNV0byGYL9R04PI0Bap5H0=,/naRAvDSk/6QwHC5dFuGKqCwB6Jy+r30EqL2+5y06XI=,Ms7MKju+/YdXOaMjYRouki5VhPA3O6Ng8Hw4DDRdAxU=,6A2sYddm/4xRSJkTpUDrPUuK1Cy0OCUpUthlTgjEQWM=",
        "an0BjUmpwb/SON3OS/Unoj4+AJ0I7+27WS83LFKtKk4=",
        "rIv5UFDK/jGS2jy/tHV4vKMXdr8bDMjJt6JFOksb7gQ=",
        "LR8s0d+woWFwCJpdDek4cWt6d0lbiGoEZMmxa+rILggX0zKz5/T2QQr4qQJAXSWnkySjIwVGtydn+sha8nJJBw==",
    ],
    [
        "CDATdJXtmEMd+a8MiNyBzJfml/tlFeUt+7fqfSdvGgI=",
        "oCjGp1LXIuALA14oUuDzMvXxZQqNmA9zQvpW7gj8gQc=",
        "uqzF6Yud/TcOb0Qqh6W5pVXDVTfccpd6vDFKl6cko2s=,1JHJSOeBP4YZJU8vxBQJky++2CCnSXR7AiVYhWIcxhc=,xlt2BWmGn2HHNQRMouv/4CZTjbA5OzAW/OUHy/xMRwc=,jneVhZ2uILeea08oFNHrsMrySZ5NpGZ2rIT8pM2IPxM=,KFtx8ceLvtuL2+dRPm7bDZ5FdrL0f/TRNNkIzMtttl4=",
        "mF7kNktgoP9OHSA8mgm6t+Vmx9bhO79TG0AjYNjbz24=,7IbBiJX/cH4//616F8UCgo2Lzh3RATwRlrtLl2GmjlM=,YBl7hRaHTwQ19HwtbrVcRTBQ3xhpDrb6EjzS80LO2wQ=,Rs6W8kUZCBam3BZKyvC/Zc7S3bVIWEBXzNVwKsSk/Us=,ylT/xqEBYjWDWfZd0lH9w08/c55SsA9KSgAOtNz48HE=",
        "AjQpqYvy6onAHHyD8ZtsVGYW/Y84bwvusSy3MEYyQng=",
        "wESOv7FzkbDc3NJraYWj58aeFRXbt0VAEb1PgLsJ73g=",
        "hDDZcM6e+X9UV8ZtV9QwQ7w4PeHb+A1ug7WfsKiAXQEHk7P4LIrXSH2AvI09NGUG642xKweGXmkvELD3Q7yxAQ==",
    ],
    [
        "siv+BM3AvP8Jv1aL4MFhMs9Xa6jxUNhFXpTWDfGrZQQ=",
        "XgFOlHEz5zm5dtx6ptYIXNg1NsJ/3vAq+cf/9eBkbxI=",
        "dsaMl4/9FcOFtaW3l65y1Z9ETJR36aTcXPMp+w4HGUY=,aH2q1HiReMA/Ney2NNZCgl+5GKK9xrxVwdC+THq9pFY=,uGRqS51VD7DuK0gSpMb3owRld57W6DqOyZpygXJVpmI=,Bvv+lqtCg39SD1H218rPZdQTmYPe2HD3QScntqw1oFA=,9IHWUyv/SCwZ4WKEGi58+bQ5nHsaDBXCku2vOzGvgUY=",
        "4lPV/OyNjVy4VTUvaROxCuq4ryfegkt7jt5IhrX9THo=,4EAmV5Mv3a/IQFsfVlaFxErNc96Ns980FT4yLlCdoxA=,bgGM37uBMLdRRAd1cu/4Iq+FzFwzRFLVhqp2uGFnPQc=,rCn4OuWnV5tTsgcPJAYRSqfONZf9k/92fwzWHtUxxh8=,lHCDzazDlU0w735u7OQmJM96WGeaNFILanawmC9EwFE=",
        "jotItTWLW/kpDeh8KJQtNqM7ON0YibEJ7R8VnMHP7Cs=",
        "Pu49xb3Ixn+Dfg6s+wgjyoPy7ickB5lM7/MxQVdpaUI=",
        "N6vDmGbYZ0aa9S2JqWSYppiX1AV33QDXGc8FHaF0aQ9y6Hp68UEkI2x5AJQ3URqS+5/x1AuucMH0AOMcLNqODg==",
    ],
    [
        "jTTf/D0gicaG++cQJ1X4qYaOqk4YPo0p6Mo2B95kJAg=",
        "LCtewONuYTXljy+oK73/m7CON/vr/e1r4aDaVE3xDnc=",
        "GsomH3aBo6qBHaNGzZZ/pNOviBTbZrUfpthgYU5jAmU=,wHvznjZDA9L8dgQGEj7wf1/QGxunE5/WYdxUpQX4Umc=,ZMxkDV7epUgmpix38jBfWv42VeMQefypY56dnysikWA=,aEy+/J0AFmjYGTjcv5y942fleEk/0rwqlD+kXSn0vCM=,QJMHfIYUraWdJKzenROtgLyjU9MrDtDDwFfDNIcjCHA=",
        "aGUXY5bBYoDmw4x1muwHzKp1w2sITQMeDfsyxv9EUDc=,qh0wfC/wAdclIJ79R+IIpPJLJM5aBe/i5i54dQOn3Vk=,zCi7XaHyO/b9SfN2AYuJcC60zqnIorkXMjjbixhEKxk=,XlBf7DyH5FtcUyr9Gfnj8i3cnKKPtWGHXm/LpIQX4gM=,wHtZg2i40wdxQvHehZEunTHiODSuEMv8suwFaqynmTQ=",
        "osUDqpps33Jw0k7vEHFCAk+iywlE7YrXrX5RfqC0olA=",
        "LnD9wlZrDo3v6dw56owm6NazoBLKwtqMPWdtxSRVWxc=",
        "KVEotBgIaz5Rymqpy4paroHGQyD/80FdvLCrONxDzQUWgNZxZ6aiCJ2VxIGP+6+86FZXS1sXGgs3dwft/VMCCw==",
    ],
];

fn b64(text: &str) -> Vec<u8> {
    STANDARD.decode(text).unwrap()
}

/// An issuer answering with the vector's key: signatures and a fresh batch proof, base64.
pub(super) fn issue(key: &SigningKey, blinded: &[BlindedToken]) -> (Vec<String>, String) {
    let signed: Vec<SignedToken> = blinded.iter().map(|b| key.sign(b).unwrap()).collect();
    let proof = BatchDLEQProof::new::<Sha512, _>(&mut OsRng, blinded, &signed, key).unwrap();
    (
        signed.iter().map(SignedToken::encode_base64).collect(),
        proof.encode_base64(),
    )
}

#[test]
fn stored_tokens_blind_and_unblind_as_the_crates_vectors() {
    for [k, y, seed, r, p, q, w] in OPRF {
        // What the service would have persisted for this token: preimage t, then blind r.
        let t = Sha512::digest(b64(seed));
        let stored = STANDARD.encode([t.as_slice(), &b64(r)].concat());
        let tokens = RandomTokens::decode(&stored).unwrap();
        assert_eq!(tokens.len(), 1);

        let blinded = tokens.blind();
        assert_eq!(encode_blinded(&blinded), [p], "the request the issuer gets");

        let key = SigningKey::decode_base64(k).unwrap();
        assert_eq!(key.public_key.encode_base64(), y);
        let (signatures, proof) = issue(&key, &blinded);
        assert_eq!(signatures, [q], "k·P");

        let unblinded = tokens
            .verify_and_unblind(&blinded, y, &signatures, &proof)
            .unwrap();
        let expected = STANDARD.encode([t.as_slice(), &b64(w)[..32]].concat());
        assert_eq!(unblinded, [expected], "t and W = k·T, as stored for passes");
    }
}

#[test]
fn batch_proofs_from_the_crates_vectors_verify_and_tampering_does_not() {
    for (i, [k, y, p, q, _m, _z, proof]) in BATCH.into_iter().enumerate() {
        let blinded: Vec<BlindedToken> = p
            .split(',')
            .map(|b| BlindedToken::decode_base64(b).unwrap())
            .collect();
        let signatures: Vec<String> = q.split(',').map(str::to_owned).collect();
        // The vector's signatures are the key's: what an honest issuer would send.
        let key = SigningKey::decode_base64(k).unwrap();
        assert_eq!(key.public_key.encode_base64(), y);
        let (ours, _) = issue(&key, &blinded);
        assert_eq!(ours, signatures);

        // The proof covers only P, Q and Y; any tokens of the right count can be unblinded.
        let tokens = RandomTokens::generate(blinded.len());
        let unblinded = tokens
            .verify_and_unblind(&blinded, y, &signatures, proof)
            .expect("the crate's batch proof verifies on the service's path");
        assert_eq!(unblinded.len(), blinded.len());
        assert!(unblinded.iter().all(|u| u.len() == 128));

        let other = BATCH[(i + 1) % BATCH.len()];
        let invalid = Err(ProofError::Invalid);
        assert_eq!(
            tokens.verify_and_unblind(&blinded, other[1], &signatures, proof),
            invalid,
            "another key"
        );
        assert_eq!(
            tokens.verify_and_unblind(&blinded, y, &signatures, other[6]),
            invalid,
            "another batch's proof"
        );
        let mut swapped = signatures.clone();
        swapped.swap(0, 1);
        assert_eq!(
            tokens.verify_and_unblind(&blinded, y, &swapped, proof),
            invalid,
            "signatures out of order"
        );
        let mut reversed = blinded.clone();
        reversed.reverse();
        assert_eq!(
            tokens.verify_and_unblind(&reversed, y, &signatures, proof),
            invalid,
            "blinded tokens out of order"
        );
        assert_eq!(
            tokens.verify_and_unblind(&blinded, y, &signatures[1..], proof),
            Err(ProofError::CountMismatch {
                expected: blinded.len(),
                got: blinded.len() - 1,
            })
        );
    }
}
