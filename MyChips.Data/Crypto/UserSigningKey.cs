using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace MyChips.Data.Crypto;

/// <summary>
/// A user's ECDSA signing key. Users normally keep theirs on their device; the server needs this to act as a
/// client in tests and the bench. Owns its <see cref="PublicKey"/>.
/// </summary>
public sealed class UserSigningKey : IDisposable
{
    private readonly ECDsa _ecdsa;

    private UserSigningKey(UserKeyCurve curve, ECDsa ecdsa)
    {
        Curve = curve;
        _ecdsa = ecdsa;
        PublicKey = UserPublicKey.FromParameters(curve, ecdsa.ExportParameters(includePrivateParameters: false));
    }

    public UserKeyCurve Curve { get; }

    public UserPublicKey PublicKey { get; }

    public static UserSigningKey Generate(UserKeyCurve curve = UserKeyCurve.P521) =>
        new(curve, ECDsa.Create(curve.EcCurve()));

    /// <summary>Imports <c>{kty:"EC", crv, x, y, d}</c>.</summary>
    /// <exception cref="InvalidKeyException">The JWK is not a usable EC private key.</exception>
    public static UserSigningKey FromJwk(JsonNode jwk)
    {
        var (curve, parameters) = EcJwk.Read(jwk, requirePrivate: true);
        return new UserSigningKey(curve, EcJwk.Create(parameters));
    }

    /// <summary>IEEE P1363 r‖s signature over <paramref name="data"/> (hashed with the curve's hash). Randomised.</summary>
    public byte[] Sign(ReadOnlySpan<byte> data) =>
        _ecdsa.SignData(data, Curve.Hash(), DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    /// <summary><c>{kty, crv, x, y}</c>, as published in <c>cert.public</c>.</summary>
    public JsonObject ExportPublicJwk() => PublicKey.Jwk;

    /// <summary><c>{kty, crv, x, y, d}</c>.</summary>
    public JsonObject ExportPrivateJwk() => EcJwk.Write(Curve, _ecdsa.ExportParameters(includePrivateParameters: true), includePrivate: true);

    public void Dispose()
    {
        PublicKey.Dispose();
        _ecdsa.Dispose();
    }
}
