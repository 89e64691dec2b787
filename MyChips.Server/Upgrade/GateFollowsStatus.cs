using MyChips.Server.Hosting;

namespace MyChips.Server.Upgrade;

/// <summary>Keeps the <see cref="HoldGate"/> in step with the instance's state.</summary>
internal static class GateFollowsStatus
{
    public static void Bind(HoldGate gate, InstanceStatus status)
    {
        status.Changed += _ => Apply(gate, status);
        Apply(gate, status);
    }

    private static void Apply(HoldGate gate, InstanceStatus status)
    {
        var (state, reason) = status.Snapshot();
        switch (state)
        {
            case InstanceState.Serving:
                gate.Open();
                break;
            case InstanceState.Starting or InstanceState.Holding:
                gate.Hold(reason ?? state.ToString().ToLowerInvariant());
                break;
            case InstanceState.Fenced:
                gate.Refuse($"this instance is fenced: {reason}");
                break;
            default:
                gate.Refuse($"this instance is {state.ToString().ToLowerInvariant()}{(reason is null ? "" : ": " + reason)}; retry on another instance");
                break;
        }
    }
}
