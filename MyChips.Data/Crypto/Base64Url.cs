using System.Buffers;

namespace MyChips.Data.Crypto;

/// <summary>
/// <c>b64v</c> (PROTOCOL §2.4): emit unpadded base64url; accept padding and the standard <c>+/</c> alphabet too,
/// because Node's decoder (which some reference paths use) does.
/// </summary>
public static class Base64Url
{
    public static string Encode(ReadOnlySpan<byte> data) => System.Buffers.Text.Base64Url.EncodeToString(data);

    public static byte[] Decode(ReadOnlySpan<char> text) =>
        TryDecode(text, out var bytes) ? bytes : throw new FormatException("Invalid base64url text.");

    public static bool TryDecode(ReadOnlySpan<char> text, out byte[] bytes)
    {
        char[]? rented = null;
        try
        {
            if (text.ContainsAny('+', '/'))
            {
                rented = ArrayPool<char>.Shared.Rent(text.Length);
                Span<char> mapped = rented.AsSpan(0, text.Length);
                text.CopyTo(mapped);
                mapped.Replace('+', '-');
                mapped.Replace('/', '_');
                text = mapped;
            }
            var buffer = new byte[System.Buffers.Text.Base64Url.GetMaxDecodedLength(text.Length)];
            // The OperationStatus overload reports bad input; TryDecodeFromChars throws on it.
            var status = System.Buffers.Text.Base64Url.DecodeFromChars(text, buffer, out int consumed, out int written);
            if (status == OperationStatus.Done && consumed == text.Length)
            {
                bytes = written == buffer.Length ? buffer : buffer[..written];
                return true;
            }
            bytes = [];
            return false;
        }
        finally
        {
            if (rented is not null)
                ArrayPool<char>.Shared.Return(rented);
        }
    }

    /// <summary>Decodes exactly <paramref name="destination"/>.Length bytes; false on malformed text or another length.</summary>
    public static bool TryDecode(ReadOnlySpan<char> text, Span<byte> destination)
    {
        if (!TryDecode(text, out var bytes) || bytes.Length != destination.Length)
            return false;
        bytes.CopyTo(destination);
        return true;
    }
}
