using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MyChips.Peer.Noise.Vectors;

/// <summary>
/// A vector file: <c>{"vectors":[...]}</c> with fields <c>protocol_name</c>, <c>init_prologue</c>, <c>init_psks</c>,
/// <c>init_static</c>, <c>init_ephemeral</c>, <c>init_remote_static</c>, the <c>resp_*</c> counterparts,
/// an optional <c>handshake_hash</c> and <c>messages[{payload, ciphertext}]</c>, binary values in hex.
/// </summary>
public sealed class NoiseVectorFile
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    private NoiseVectorFile(ImmutableArray<NoiseVector> vectors)
    {
        Vectors = vectors;
    }

    public ImmutableArray<NoiseVector> Vectors { get; }

    /// <summary>Reads and parses a file. Throws <see cref="InvalidDataException"/> when the content is malformed.</summary>
    public static async Task<NoiseVectorFile> LoadAsync(string path, CancellationToken cancellationToken = default)
    {
        await using var stream = File.OpenRead(path);
        return await LoadAsync(stream, cancellationToken).ConfigureAwait(false);
    }

    public static async Task<NoiseVectorFile> LoadAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        FileDto? file;
        try
        {
            file = await JsonSerializer.DeserializeAsync<FileDto>(stream, Options, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"Not a Noise vector file: {ex.Message}", ex);
        }

        if (file?.Vectors is null)
        {
            throw new InvalidDataException("Not a Noise vector file: there is no \"vectors\" array.");
        }

        var vectors = ImmutableArray.CreateBuilder<NoiseVector>(file.Vectors.Count);
        for (int i = 0; i < file.Vectors.Count; i++)
        {
            vectors.Add(Convert(file.Vectors[i], i));
        }

        return new NoiseVectorFile(vectors.MoveToImmutable());
    }

    private static NoiseVector Convert(VectorDto? dto, int index)
    {
        if (dto?.ProtocolName is null || dto.Messages is null)
        {
            throw new InvalidDataException($"Vector {index}: protocol_name and messages are required.");
        }

        string where = $"Vector {index} ({dto.ProtocolName})";
        return new NoiseVector(
            dto.ProtocolName,
            Hex(dto.InitPrologue, where, "init_prologue") ?? [],
            HexList(dto.InitPsks, where, "init_psks"),
            Hex(dto.InitStatic, where, "init_static"),
            Hex(dto.InitEphemeral, where, "init_ephemeral"),
            Hex(dto.InitRemoteStatic, where, "init_remote_static"),
            Hex(dto.RespPrologue, where, "resp_prologue") ?? [],
            HexList(dto.RespPsks, where, "resp_psks"),
            Hex(dto.RespStatic, where, "resp_static"),
            Hex(dto.RespEphemeral, where, "resp_ephemeral"),
            Hex(dto.RespRemoteStatic, where, "resp_remote_static"),
            Hex(dto.HandshakeHash, where, "handshake_hash"),
            [.. dto.Messages.Select((m, i) => new NoiseVectorMessage(
                Hex(m?.Payload, where, $"messages[{i}].payload") ?? throw new InvalidDataException($"{where}: messages[{i}] has no payload."),
                Hex(m?.Ciphertext, where, $"messages[{i}].ciphertext") ?? throw new InvalidDataException($"{where}: messages[{i}] has no ciphertext.")))]);
    }

    private static byte[]? Hex(string? hex, string where, string field)
    {
        if (hex is null)
        {
            return null;
        }

        try
        {
            return System.Convert.FromHexString(hex);
        }
        catch (FormatException)
        {
            throw new InvalidDataException($"{where}: {field} is not hex.");
        }
    }

    private static ImmutableArray<byte[]> HexList(List<string>? list, string where, string field) =>
        list is null ? [] : [.. list.Select((h, i) => Hex(h, where, $"{field}[{i}]")!)];

    private sealed class FileDto
    {
        public List<VectorDto?>? Vectors { get; set; }
    }

    private sealed class VectorDto
    {
        public string? ProtocolName { get; set; }
        public string? InitPrologue { get; set; }
        public List<string>? InitPsks { get; set; }
        public string? InitStatic { get; set; }
        public string? InitEphemeral { get; set; }
        public string? InitRemoteStatic { get; set; }
        public string? RespPrologue { get; set; }
        public List<string>? RespPsks { get; set; }
        public string? RespStatic { get; set; }
        public string? RespEphemeral { get; set; }
        public string? RespRemoteStatic { get; set; }
        public string? HandshakeHash { get; set; }
        public List<MessageDto?>? Messages { get; set; }
    }

    private sealed class MessageDto
    {
        public string? Payload { get; set; }
        public string? Ciphertext { get; set; }
    }
}
