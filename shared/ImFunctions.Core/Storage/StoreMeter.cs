using ImFunctions.Core.Telemetry;

namespace ImFunctions.Core.Storage;

public enum StoreOp { PointRead, Query, Write }

/// <summary>
/// Counts store operations (and Cosmos request units) for the current logical operation, e.g. one API request.
/// Adapters call <see cref="Record"/> for every round trip; budgets are checked by counting, not timing.
/// The pushes the operation hands to the dispatcher are counted in the same scope (<see cref="RecordPush"/>): they are
/// its other per-message cost, and in-process delivery leaves no REST call to count them by.
/// </summary>
public sealed class StoreMeter
{
    static readonly AsyncLocal<StoreMeter?> current = new();

    int pointReads, queries, writes, pushes;
    double requestCharge;

    public int PointReads => pointReads;
    public int Queries => queries;
    public int Writes => writes;
    public int Pushes => pushes;
    public double RequestCharge { get { lock (this) return requestCharge; } }

    /// <summary>Starts counting for the current async flow until the returned scope is disposed.</summary>
    public static Scope Start()
    {
        var meter = new StoreMeter();
        var previous = current.Value;
        current.Value = meter;
        return new Scope(meter, previous);
    }

    public static void Record(StoreOp op, double requestCharge = 0)
    {
        ImDiagnostics.StoreEvent(op switch { StoreOp.PointRead => "point_read", StoreOp.Query => "query", _ => "write" }, requestCharge);
        var meter = current.Value;
        if (meter is null) return;
        switch (op)
        {
            case StoreOp.PointRead: Interlocked.Increment(ref meter.pointReads); break;
            case StoreOp.Query: Interlocked.Increment(ref meter.queries); break;
            case StoreOp.Write: Interlocked.Increment(ref meter.writes); break;
        }
        if (requestCharge != 0) lock (meter) meter.requestCharge += requestCharge;
    }

    public static void RecordPush()
    {
        if (current.Value is { } meter) Interlocked.Increment(ref meter.pushes);
    }

    public override string ToString() => $"{pointReads} point reads, {queries} queries, {writes} writes, {RequestCharge:0.##} RU, {pushes} pushes";

    public readonly struct Scope(StoreMeter meter, StoreMeter? previous) : IDisposable
    {
        public StoreMeter Meter => meter;
        public void Dispose() => current.Value = previous;
    }
}
