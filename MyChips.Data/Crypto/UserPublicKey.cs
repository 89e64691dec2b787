using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace MyChips.Data.Crypto;

/// <summary>
/// A user's ECDSA verification key (<c>cert.public</c>, PROTOCOL §2.1/§3.1). Signatures are IEEE P1363 r‖s
/// (132 bytes on P-521, 64 on P-256), never DER. Like <see cref="ECDsa"/>, an instance is not meant for concurrent use.
/// </summary>
public sealed class UserPublicKey : IDisposable
{
    private readonly ECDsa _ecdsa;
    private readonly JsonObject _jwk;

    private UserPublicKey(UserKeyCurve curve, ECDsa ecdsa, JsonObject jwk)
    {
        Curve = curve;
        _ecdsa = ecdsa;
        _jwk = jwk;
    }

    public UserKeyCurve Curve { get; }

    /// <summary>Length of a valid signature in bytes.</summary>
    public int SignatureSize => 2 * Curve.FieldSize();

    /// <summary>
    /// A copy of the JWK exactly as it was given (members, order and extras such as <c>ext</c>/<c>key_ops</c>),
    /// for embedding into signed or hashed text.
    /// </summary>
    public JsonObject Jwk => (JsonObject)_jwk.DeepClone();

    /// <summary>Imports <c>{kty:"EC", crv:"P-521"|"P-256", x, y}</c>; a <c>d</c> member, if present, is ignored.</summary>
    /// <exception cref="InvalidKeyException">The JWK is not a usable EC public key.</exception>
    public static UserPublicKey FromJwk(JsonNode jwk)
    {
        var (curve, parameters) = EcJwk.Read(jwk, requirePrivate: false);
        parameters.D = null;
        return new UserPublicKey(curve, EcJwk.Create(parameters), (JsonObject)jwk.DeepClone());
    }

    internal static UserPublicKey FromParameters(UserKeyCurve curve, ECParameters parameters)
    {
        var publicOnly = new ECParameters { Curve = parameters.Curve, Q = parameters.Q };
        return new UserPublicKey(curve, EcJwk.Create(publicOnly), EcJwk.Write(curve, publicOnly, includePrivate: false));
    }

    /// <summary>True when <paramref name="signature"/> is a valid r‖s signature of <paramref name="data"/>; false for any malformed input.</summary>
    public bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        if (signature.Length != SignatureSize)
            return false;
        try
        {
            return _ecdsa.VerifyData(data, signature, Curve.Hash(), DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    public void Dispose() => _ecdsa.Dispose();
}
