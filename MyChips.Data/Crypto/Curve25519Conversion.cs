using System.Numerics;
using System.Security.Cryptography;

namespace MyChips.Data.Crypto;

/// <summary>
/// Ed25519 → X25519 key conversion with libsodium's rules (<c>crypto_sign_ed25519_sk_to_curve25519</c> and
/// <c>…_pk_to_curve25519</c>, PROTOCOL §2.3): the Noise static keys of an agent derive from its Ed25519 agent key.
/// Neither the BCL nor NSec exposes it. Plain BigInteger arithmetic: slow (milliseconds), but only run per peer key.
/// </summary>
public static class Curve25519Conversion
{
    public const int KeySize = 32;

    private static readonly BigInteger P = BigInteger.Pow(2, 255) - 19;
    private static readonly BigInteger D = Mod(-121665 * Inverse(121666));
    private static readonly BigInteger D2 = Mod(2 * D);
    private static readonly BigInteger SqrtMinusOne = BigInteger.ModPow(2, (P - 1) / 4, P);
    // Order of the prime subgroup.
    private static readonly BigInteger L = BigInteger.Pow(2, 252) + BigInteger.Parse("27742317777372353535851937790883648493");

    /// <summary>X25519 private key from a 32-byte Ed25519 seed (the JWK <c>d</c>): SHA-512, first half, clamped.</summary>
    public static void ConvertSeed(ReadOnlySpan<byte> ed25519Seed, Span<byte> x25519PrivateKey)
    {
        if (ed25519Seed.Length != KeySize)
            throw new ArgumentException("An Ed25519 seed is 32 bytes.", nameof(ed25519Seed));
        if (x25519PrivateKey.Length != KeySize)
            throw new ArgumentException("An X25519 private key is 32 bytes.", nameof(x25519PrivateKey));
        Span<byte> h = stackalloc byte[SHA512.HashSizeInBytes];
        SHA512.HashData(ed25519Seed, h);
        h[..KeySize].CopyTo(x25519PrivateKey);
        CryptographicOperations.ZeroMemory(h);
        x25519PrivateKey[0] &= 0xf8;
        x25519PrivateKey[31] &= 0x7f;
        x25519PrivateKey[31] |= 0x40;
    }

    /// <summary>
    /// X25519 public key (Montgomery u) for an Ed25519 public key, u = (1 + y)/(1 − y). False, and nothing
    /// written, unless the input is a canonical encoding of a point on the curve, in the prime-order subgroup and
    /// not of small order. Agent IDs that fail MUST be rejected.
    /// </summary>
    public static bool TryConvertPublicKey(ReadOnlySpan<byte> ed25519PublicKey, Span<byte> x25519PublicKey)
    {
        if (x25519PublicKey.Length != KeySize)
            throw new ArgumentException("An X25519 public key is 32 bytes.", nameof(x25519PublicKey));
        if (ed25519PublicKey.Length != KeySize || !TryDecode(ed25519PublicKey, out var point))
            return false;
        if (IsIdentity(Multiply(point, 8)) || !IsIdentity(Multiply(point, L)))
            return false;

        BigInteger y = point.Y; // Z = 1 after decoding
        BigInteger u = Mod((1 + y) * Inverse(Mod(1 - y)));
        x25519PublicKey.Clear();
        u.TryWriteBytes(x25519PublicKey, out _, isUnsigned: true, isBigEndian: false);
        return true;
    }

    // Extended twisted Edwards coordinates: x = X/Z, y = Y/Z, xy = T/Z; curve −x² + y² = 1 + d·x²·y².
    private readonly record struct Point(BigInteger X, BigInteger Y, BigInteger Z, BigInteger T);

    private static readonly Point Identity = new(0, 1, 1, 0);

    // RFC 8032 §5.1.3, plus canonical y (y < p), which libsodium's small-order blocklist covers only partly.
    private static bool TryDecode(ReadOnlySpan<byte> encoded, out Point point)
    {
        point = default;
        Span<byte> bytes = stackalloc byte[KeySize];
        encoded.CopyTo(bytes);
        int sign = bytes[31] >> 7;
        bytes[31] &= 0x7f;
        var y = new BigInteger(bytes, isUnsigned: true, isBigEndian: false);
        if (y >= P)
            return false;

        BigInteger y2 = y * y % P;
        BigInteger u = Mod(y2 - 1);
        BigInteger v = Mod(D * y2 + 1);
        BigInteger v3 = v * v % P * v % P;
        BigInteger x = u * v3 % P * BigInteger.ModPow(u * v3 % P * v3 % P * v % P, (P - 5) / 8, P) % P;
        BigInteger vx2 = v * x % P * x % P;
        if (vx2 != u)
        {
            if (vx2 != Mod(-u))
                return false; // not on the curve
            x = x * SqrtMinusOne % P;
        }
        if (x.IsZero && sign == 1)
            return false;
        if ((int)(x & 1) != sign)
            x = P - x;
        point = new Point(x, y, 1, x * y % P);
        return true;
    }

    // add-2008-hwcd-3: complete for a = −1, so it doubles too.
    private static Point Add(Point a, Point b)
    {
        BigInteger pa = Mod((a.Y - a.X) * (b.Y - b.X));
        BigInteger pb = (a.Y + a.X) * (b.Y + b.X) % P;
        BigInteger c = a.T * D2 % P * b.T % P;
        BigInteger d = 2 * a.Z * b.Z % P;
        BigInteger e = Mod(pb - pa), f = Mod(d - c), g = (d + c) % P, h = (pb + pa) % P;
        return new Point(e * f % P, g * h % P, f * g % P, e * h % P);
    }

    private static Point Multiply(Point point, BigInteger scalar)
    {
        Point result = Identity;
        for (long bit = (long)scalar.GetBitLength() - 1; bit >= 0; bit--)
        {
            result = Add(result, result);
            if (!(scalar >> (int)bit).IsEven)
                result = Add(result, point);
        }
        return result;
    }

    private static bool IsIdentity(Point point) => point.X.IsZero && point.Y == point.Z;

    private static BigInteger Mod(BigInteger a)
    {
        BigInteger r = a % P;
        return r.Sign < 0 ? r + P : r;
    }

    private static BigInteger Inverse(BigInteger a) => BigInteger.ModPow(a, P - 2, P);
}
