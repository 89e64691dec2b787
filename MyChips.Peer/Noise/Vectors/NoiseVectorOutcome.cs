namespace MyChips.Peer.Noise.Vectors;

/// <summary>The result of one vector; <see cref="Reason"/> explains a failure or a skip.</summary>
public sealed record NoiseVectorOutcome(int Index, string ProtocolName, NoiseVectorStatus Status, string? Reason = null)
{
    public override string ToString() =>
        Reason is null ? $"#{Index} {ProtocolName}: {Status}" : $"#{Index} {ProtocolName}: {Status}: {Reason}";
}
