using System.Text;
using MyChips.Server.Hosting;
using MyChips.Server.Peer;
using MyChips.Server.Upgrade;

namespace MyChips.Server.Endpoints;

/// <summary><c>/metrics</c>: Prometheus text format (DESIGN.md 4.6).</summary>
internal static class MetricsEndpoint
{
    public static IEndpointRouteBuilder MapMetrics(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/metrics", (UpgradeMetrics metrics, HoldGate gate, InstanceStatus status, IServiceProvider services) =>
        {
            var text = new StringBuilder();
            metrics.WriteTo(text);
            text.Append("# HELP mychips_held_requests_waiting Work waiting in the hold gate now.\n# TYPE mychips_held_requests_waiting gauge\n");
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $"mychips_held_requests_waiting {gate.Waiting}\n");
            text.Append("# HELP mychips_instance_state 1 for this instance's current state.\n# TYPE mychips_instance_state gauge\n");
            var current = status.State;
            foreach (var state in Enum.GetValues<InstanceState>())
            {
                text.Append(System.Globalization.CultureInfo.InvariantCulture,
                    $"mychips_instance_state{{state=\"{state.ToString().ToLowerInvariant()}\"}} {(state == current ? 1 : 0)}\n");
            }

            services.GetService<PeerMetrics>()?.WriteTo(text);
            services.GetService<MyChips.Server.Api.UserPushHub>()?.WriteTo(text);
            return Results.Text(text.ToString(), "text/plain; version=0.0.4; charset=utf-8");
        });
        return endpoints;
    }
}
