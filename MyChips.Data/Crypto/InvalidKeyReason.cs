namespace MyChips.Data.Crypto;

/// <summary>Why a key was refused. Values are stable (logged and mapped to protocol errors).</summary>
public enum InvalidKeyReason
{
    /// <summary>Not a JSON object, or a required member is missing or not a string.</summary>
    Malformed = 1,
    /// <summary><c>kty</c> is not the one the key kind needs (<c>EC</c> for user keys, <c>OKP</c> for agent keys).</summary>
    UnsupportedKeyType = 2,
    /// <summary><c>crv</c> is not supported (user keys: <c>P-256</c>, <c>P-521</c>; agent keys: <c>Ed25519</c>).</summary>
    UnsupportedCurve = 3,
    /// <summary>A coordinate or scalar is not base64url or not the curve's exact length.</summary>
    BadEncoding = 4,
    /// <summary>The key material was refused by the crypto library (point not on the curve, scalar out of range, private and public parts disagree).</summary>
    InvalidKeyMaterial = 5,
}
