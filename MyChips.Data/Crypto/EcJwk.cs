using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MyChips.Data.Crypto;

/// <summary>Reads and writes the <c>{kty:"EC", crv, x, y[, d]}</c> JWK form of a user key.</summary>
internal static class EcJwk
{
    public static (UserKeyCurve Curve, ECParameters Parameters) Read(JsonNode? jwk, bool requirePrivate)
    {
        if (jwk is not JsonObject obj)
            throw new InvalidKeyException(InvalidKeyReason.Malformed, "A JWK must be a JSON object.");
        string kty = RequiredString(obj, "kty");
        if (kty != "EC")
            throw new InvalidKeyException(InvalidKeyReason.UnsupportedKeyType, $"JWK kty '{kty}' is not EC.");
        string crv = RequiredString(obj, "crv");
        if (!UserKeyCurveInfo.TryFromJwkName(crv, out var curve))
            throw new InvalidKeyException(InvalidKeyReason.UnsupportedCurve, $"JWK curve '{crv}' is not P-256 or P-521.");

        int size = curve.FieldSize();
        var parameters = new ECParameters
        {
            Curve = curve.EcCurve(),
            Q = new ECPoint { X = Bytes(obj, "x", size), Y = Bytes(obj, "y", size) },
        };
        if (requirePrivate)
            parameters.D = Bytes(obj, "d", size);
        return (curve, parameters);
    }

    public static ECDsa Create(ECParameters parameters)
    {
        try
        {
            return ECDsa.Create(parameters);
        }
        catch (CryptographicException e)
        {
            throw new InvalidKeyException(InvalidKeyReason.InvalidKeyMaterial, "The EC key was refused: " + e.Message, e);
        }
    }

    public static JsonObject Write(UserKeyCurve curve, ECParameters parameters, bool includePrivate)
    {
        var jwk = new JsonObject
        {
            ["kty"] = "EC",
            ["crv"] = curve.JwkName(),
            ["x"] = Base64Url.Encode(parameters.Q.X),
            ["y"] = Base64Url.Encode(parameters.Q.Y),
        };
        if (includePrivate)
            jwk["d"] = Base64Url.Encode(parameters.D);
        return jwk;
    }

    private static string RequiredString(JsonObject obj, string name) =>
        obj[name] is JsonValue v && v.GetValueKind() == JsonValueKind.String
            ? JsonLeaf.String(v)
            : throw new InvalidKeyException(InvalidKeyReason.Malformed, $"JWK member '{name}' is missing or not a string.");

    // RFC 7518 §6.2.1: coordinates and d are exactly the field size, left-padded; WebCrypto exports them so.
    private static byte[] Bytes(JsonObject obj, string name, int size)
    {
        string text = RequiredString(obj, name);
        if (!Base64Url.TryDecode(text, out var bytes) || bytes.Length != size)
            throw new InvalidKeyException(InvalidKeyReason.BadEncoding, $"JWK member '{name}' is not {size} bytes of base64url.");
        return bytes;
    }
}
