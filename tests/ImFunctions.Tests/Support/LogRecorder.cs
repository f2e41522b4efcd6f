using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace ImFunctions.Tests.Support;

/// <summary>Every line the app logs, as text: category, message, every structured value and any exception.</summary>
public sealed class LogRecorder : ILoggerProvider
{
    readonly ConcurrentQueue<string> lines = new();

    public IReadOnlyList<string> Lines => [.. lines];

    public ILogger CreateLogger(string categoryName) => new Recorder(categoryName, lines);

    public void Dispose() { }

    sealed class Recorder(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(" ", pairs.Select(p => $"{p.Key}={p.Value}")) : "";
            lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} | {values} | {exception}");
        }
    }
}

/// <summary>A clock tests move by hand (retention); otherwise the real time.</summary>
public sealed class ManualClock : TimeProvider
{
    TimeSpan offset;
    public void Advance(TimeSpan by) => offset += by;
    public override DateTimeOffset GetUtcNow() => DateTimeOffset.UtcNow + offset;
}
