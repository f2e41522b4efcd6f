using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace ImFunctions.Tests.Support;

/// <summary>
/// Records what a running app logs at Error level or above: hostile input must not reach the error log, or an
/// anonymous caller could flood it.
/// </summary>
public sealed class CapturedLogs : ILoggerProvider
{
    readonly ConcurrentQueue<string> errors = new();

    public IReadOnlyCollection<string> Errors => errors.ToArray();

    public static CapturedLogs AttachTo(TestApp app)
    {
        var logs = new CapturedLogs();
        app.Service<ILoggerFactory>().AddProvider(logs);   // existing loggers pick up a provider added later
        return logs;
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);
    public void Dispose() { }

    sealed class Logger(CapturedLogs logs, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Error) logs.errors.Enqueue($"{category}: {formatter(state, exception)} {exception}");
        }
    }
}
