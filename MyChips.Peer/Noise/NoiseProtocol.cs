using System.Diagnostics.CodeAnalysis;

namespace MyChips.Peer.Noise;

/// <summary>
/// A parsed protocol name, <c>Noise_&lt;pattern&gt;_&lt;dh&gt;_&lt;cipher&gt;_&lt;hash&gt;</c> (§8),
/// e.g. <c>Noise_IK_25519_ChaChaPoly_BLAKE2b</c>.
/// </summary>
public sealed class NoiseProtocol
{
    private NoiseProtocol(string name, HandshakePattern pattern, NoiseDhFunction dh, NoiseCipherFunction cipher, NoiseHashFunction hash)
    {
        Name = name;
        Pattern = pattern;
        Dh = dh;
        Cipher = cipher;
        Hash = hash;
    }

    /// <summary>The exact name; its ASCII bytes seed the handshake hash.</summary>
    public string Name { get; }

    public HandshakePattern Pattern { get; }

    public NoiseDhFunction Dh { get; }

    public NoiseCipherFunction Cipher { get; }

    public NoiseHashFunction Hash { get; }

    /// <summary>False when the name parses but names a function this implementation lacks (Curve448).</summary>
    public bool IsSupported => Dh == NoiseDhFunction.Curve25519;

    /// <summary>The suite PROTOCOL §4.3 prescribes, for the given pattern (IK, N or KK).</summary>
    public static NoiseProtocol ChipsSuite(string pattern) => Parse($"Noise_{pattern}_25519_ChaChaPoly_BLAKE2b");

    /// <summary>
    /// Parses a protocol name. Throws <see cref="FormatException"/> for a malformed name and
    /// <see cref="NotSupportedException"/> for a pattern modifier other than pskN.
    /// </summary>
    public static NoiseProtocol Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var parts = name.Split('_');
        if (parts.Length != 5 || parts[0] != "Noise")
        {
            throw new FormatException($"'{name}' is not of the form Noise_<pattern>_<dh>_<cipher>_<hash>.");
        }

        var dh = parts[2] switch
        {
            "25519" => NoiseDhFunction.Curve25519,
            "448" => NoiseDhFunction.Curve448,
            _ => throw new FormatException($"'{name}': unknown DH function '{parts[2]}'."),
        };
        var cipher = parts[3] switch
        {
            "ChaChaPoly" => NoiseCipherFunction.ChaChaPoly,
            "AESGCM" => NoiseCipherFunction.AesGcm,
            _ => throw new FormatException($"'{name}': unknown cipher function '{parts[3]}'."),
        };
        var hash = parts[4] switch
        {
            "SHA256" => NoiseHashFunction.Sha256,
            "SHA512" => NoiseHashFunction.Sha512,
            "BLAKE2s" => NoiseHashFunction.Blake2s,
            "BLAKE2b" => NoiseHashFunction.Blake2b,
            _ => throw new FormatException($"'{name}': unknown hash function '{parts[4]}'."),
        };

        return new NoiseProtocol(name, HandshakePattern.Parse(parts[1]), dh, cipher, hash);
    }

    public static bool TryParse(string name, [NotNullWhen(true)] out NoiseProtocol? protocol, [NotNullWhen(false)] out string? error)
    {
        try
        {
            protocol = Parse(name);
            error = null;
            return true;
        }
        catch (Exception ex) when (ex is FormatException or NotSupportedException)
        {
            protocol = null;
            error = ex.Message;
            return false;
        }
    }

    public override string ToString() => Name;
}
