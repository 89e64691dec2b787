using System.Security.Cryptography;

namespace MyChips.Data.Crypto;

/// <summary>Curves for user signing keys. The reference uses P-521 (with SHA-384, PROTOCOL §3.1).</summary>
public enum UserKeyCurve
{
    P256,
    P521,
}

internal static class UserKeyCurveInfo
{
    public static string JwkName(this UserKeyCurve curve) => curve == UserKeyCurve.P521 ? "P-521" : "P-256";

    /// <summary>Bytes in one coordinate, one scalar, and one half of an r‖s signature.</summary>
    public static int FieldSize(this UserKeyCurve curve) => curve == UserKeyCurve.P521 ? 66 : 32;

    // P-521 pairs with SHA-384 in the reference (WebCrypto {name:"ECDSA", hash:"SHA-384"}), not SHA-512.
    public static HashAlgorithmName Hash(this UserKeyCurve curve) =>
        curve == UserKeyCurve.P521 ? HashAlgorithmName.SHA384 : HashAlgorithmName.SHA256;

    public static ECCurve EcCurve(this UserKeyCurve curve) =>
        curve == UserKeyCurve.P521 ? ECCurve.NamedCurves.nistP521 : ECCurve.NamedCurves.nistP256;

    public static bool TryFromJwkName(string? name, out UserKeyCurve curve)
    {
        switch (name)
        {
            case "P-521": curve = UserKeyCurve.P521; return true;
            case "P-256": curve = UserKeyCurve.P256; return true;
            default: curve = default; return false;
        }
    }
}
