using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ImFunctions.Core.Telemetry;

/// <summary>
/// The app's own traces and metrics, named "ImFunctions"; the hosts decide where they go (OpenTelemetry exporters).
/// Tags carry counts, kinds and outcomes only: never tokens, addresses, user ids or message text.
/// </summary>
public static class ImDiagnostics
{
    public const string Name = "ImFunctions";
    public static readonly ActivitySource Source = new(Name);
    public static readonly Meter Meter = new(Name);

    public static readonly Counter<long> MessagesSent = Meter.CreateCounter<long>("im.messages.sent", description: "Messages stored (not idempotent replays)");
    public static readonly Counter<long> StoreRetries = Meter.CreateCounter<long>("im.store.retries", description: "Store round trips retried after a transient failure");

    /// <summary>A store round trip as an event on the current span: the store adapters report after each call, so there is no duration to give a child span.</summary>
    public static void StoreEvent(string op, double requestCharge)
    {
        if (Activity.Current is not { } activity) return;
        var tags = new ActivityTagsCollection { ["imf.store.op"] = op };
        if (requestCharge != 0) tags["imf.store.request_charge"] = requestCharge;
        activity.AddEvent(new ActivityEvent("store." + op, tags: tags));
    }
}
