using System.Collections.Immutable;

namespace MyChips.Peer.Noise.Vectors;

/// <summary>One test vector in the cacophony/snow JSON format, hex already decoded. Absent keys are null.</summary>
public sealed record NoiseVector(
    string ProtocolName,
    byte[] InitPrologue,
    ImmutableArray<byte[]> InitPsks,
    byte[]? InitStatic,
    byte[]? InitEphemeral,
    byte[]? InitRemoteStatic,
    byte[] RespPrologue,
    ImmutableArray<byte[]> RespPsks,
    byte[]? RespStatic,
    byte[]? RespEphemeral,
    byte[]? RespRemoteStatic,
    byte[]? HandshakeHash,
    ImmutableArray<NoiseVectorMessage> Messages);
