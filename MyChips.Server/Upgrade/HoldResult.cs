namespace MyChips.Server.Upgrade;

/// <summary>The answer of <see cref="HoldGate.WaitAsync"/>.</summary>
/// <param name="HeldFor">How long the work waited in the gate; zero when it passed at once.</param>
/// <param name="Reason">Why it was not admitted (null when admitted).</param>
public readonly record struct HoldResult(HoldOutcome Outcome, TimeSpan HeldFor, string? Reason)
{
    public bool Admitted => Outcome == HoldOutcome.Admitted;

    public bool WasHeld => HeldFor > TimeSpan.Zero;
}
