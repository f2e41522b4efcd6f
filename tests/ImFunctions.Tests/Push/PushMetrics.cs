using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using ImFunctions.Core.Push;

namespace ImFunctions.Tests.Push;

/// <summary>Listens to the PushDispatcher's counters (meter ImFunctions.Push) for the life of a test.</summary>
public sealed class PushMetrics : IDisposable
{
    readonly MeterListener listener = new();
    readonly ConcurrentDictionary<string, long> totals = new();

    public PushMetrics()
    {
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == PushDispatcher.MeterName) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => totals.AddOrUpdate(instrument.Name, value, (_, sum) => sum + value));
        listener.Start();
    }

    public long Delivered => totals.GetValueOrDefault("im.push.delivered");
    public long Dropped => totals.GetValueOrDefault("im.push.dropped");
    public long Retried => totals.GetValueOrDefault("im.push.retried");

    public void Dispose() => listener.Dispose();
}
