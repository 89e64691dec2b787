using MyChips.Server.Upgrade;

namespace MyChips.Tests.Upgrade;

public sealed class HoldGateTests
{
    private readonly UpgradeMetrics _metrics = new();

    [Fact]
    public async Task Held_work_is_released_in_arrival_order_when_the_gate_opens()
    {
        var gate = new HoldGate(TimeSpan.FromSeconds(30), _metrics, TimeProvider.System);
        var order = new List<int>();
        var waiters = Enumerable.Range(0, 50).Select(async i =>
        {
            var result = await gate.WaitAsync(CancellationToken.None);
            lock (order)
            {
                order.Add(i);
            }

            return result;
        }).ToList();
        Assert.Equal(50, gate.Waiting);

        gate.Open();
        var results = await Task.WhenAll(waiters);

        Assert.All(results, r => Assert.Equal(HoldOutcome.Admitted, r.Outcome));
        Assert.All(results, r => Assert.True(r.WasHeld));
        Assert.Equal(Enumerable.Range(0, 50), order.Order()); // all released
        Assert.Equal(50, _metrics.Held);
        Assert.Equal(0, gate.Waiting);
        Assert.True((await gate.WaitAsync(CancellationToken.None)).Admitted); // open: passes at once
    }

    [Fact]
    public async Task One_release_instant_for_all_held_work_so_earlier_arrivals_waited_longer()
    {
        var gate = new HoldGate(TimeSpan.FromSeconds(30), _metrics, TimeProvider.System);
        var tasks = Enumerable.Range(0, 20).Select(_ => gate.WaitAsync(CancellationToken.None).AsTask()).ToList();

        gate.Open();
        await Task.WhenAll(tasks);

        // Released together, front to back: each waiter was held at least as long as every later arrival.
        var held = tasks.Select(t => t.Result.HeldFor).ToList();
        for (var i = 1; i < held.Count; i++)
        {
            Assert.True(held[i - 1] >= held[i], $"waiter {i - 1} held {held[i - 1]}, waiter {i} held {held[i]}");
        }
    }

    [Fact]
    public async Task Work_held_past_the_hold_timeout_is_turned_away_and_counted()
    {
        var gate = new HoldGate(TimeSpan.FromMilliseconds(100), _metrics, TimeProvider.System);
        gate.Hold("upgrading schema 100 -> 102");

        var result = await gate.WaitAsync(CancellationToken.None);

        Assert.Equal(HoldOutcome.TimedOut, result.Outcome);
        Assert.Contains("upgrading schema 100 -> 102", result.Reason);
        Assert.True(result.HeldFor >= TimeSpan.FromMilliseconds(90));
        Assert.Equal(1, _metrics.HoldRejectedCount);
        Assert.Equal(0, gate.Waiting);
    }

    [Fact]
    public async Task Refusing_turns_away_held_and_new_work_with_the_reason()
    {
        var gate = new HoldGate(TimeSpan.FromSeconds(30), _metrics, TimeProvider.System);
        var held = gate.WaitAsync(CancellationToken.None).AsTask();

        gate.Refuse("this instance is draining");

        Assert.Equal(HoldOutcome.Refused, (await held).Outcome);
        var late = await gate.WaitAsync(CancellationToken.None);
        Assert.Equal(HoldOutcome.Refused, late.Outcome);
        Assert.Equal("this instance is draining", late.Reason);
        Assert.Equal(2, _metrics.HoldRejectedCount);
    }

    [Fact]
    public async Task A_caller_that_gives_up_leaves_the_queue()
    {
        var gate = new HoldGate(TimeSpan.FromSeconds(30), _metrics, TimeProvider.System);
        using var cancel = new CancellationTokenSource();
        var held = gate.WaitAsync(cancel.Token).AsTask();

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => held);
        Assert.Equal(0, gate.Waiting);
        Assert.Equal(0, _metrics.HoldRejectedCount);
    }
}
