using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using ImFunctions.Core.Domain;

namespace ImFunctions.Local.Hosting;

/// <summary>
/// The local host's log: one JSON object per line on stdout, in the shape of Microsoft's JSON console formatter
/// (<c>EventId</c>, <c>LogLevel</c>, <c>Category</c>, <c>Message</c>, <c>Exception</c>, <c>State</c>).
/// <para>
/// Microsoft's console logger wakes its thread for each line, when that thread is idle, which at a few thousand
/// requests a second is nearly every line, and it makes one write per line. Measured at 3,000 sends/s, its lines cost
/// ~7 % of the server's CPU (docs/benchmarks.md, *The request log line, written in batches*). Here a line is encoded as
/// UTF-8 by the thread that logs it. A writer thread wakes every <see cref="FlushInterval"/>, or sooner when
/// <see cref="WakeBytes"/> are waiting, and writes everything queued in one write.
/// </para>
/// <para>
/// What that costs: a line reaches stdout up to <see cref="FlushInterval"/> later, and a process killed outright loses
/// at most that much of its log. Stopping the host flushes everything queued. If stdout stops taking lines,
/// <see cref="MaxQueuedBytes"/> bound what waits; lines past that are dropped and counted, and the count is logged
/// once stdout takes lines again. A request never waits for its log line.
/// </para>
/// </summary>
[ProviderAlias("Console")]
public sealed class JsonLineLoggerProvider : ILoggerProvider
{
    public static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(20);
    internal const int WakeBytes = 256 * 1024;
    internal const int MaxQueuedBytes = 16 * 1024 * 1024;

    readonly Stream output;
    readonly ConcurrentQueue<byte[]> lines = new();
    readonly ManualResetEventSlim wake = new(false, spinCount: 0);
    readonly Thread writer;
    long queuedBytes;
    long dropped;
    volatile bool stopping;
    volatile bool broken;

    public JsonLineLoggerProvider(Stream output)
    {
        this.output = output;
        writer = new Thread(WriteLoop) { IsBackground = true, Name = "JSON log writer" };
        writer.Start();
    }

    public ILogger CreateLogger(string categoryName) => new JsonLineLogger(this, categoryName);

    /// <summary>Writes what is queued and stops the writer.</summary>
    public void Dispose()
    {
        if (stopping) return;
        stopping = true;
        wake.Set();
        writer.Join();
    }

    void Enqueue(byte[] line)
    {
        if (broken || stopping) return;
        var queued = Interlocked.Add(ref queuedBytes, line.Length);
        if (queued > MaxQueuedBytes)
        {
            Interlocked.Add(ref queuedBytes, -line.Length);
            Interlocked.Increment(ref dropped);
            return;
        }
        lines.Enqueue(line);
        if (queued >= WakeBytes) wake.Set();
    }

    void WriteLoop()
    {
        var batch = new ArrayBufferWriter<byte>(WakeBytes);
        while (true)
        {
            wake.Wait(FlushInterval);
            wake.Reset();
            var last = stopping;   // read before draining: a line queued before Dispose is written
            if (Interlocked.Exchange(ref dropped, 0) is var lost and > 0)
                batch.Write(Line(typeof(JsonLineLoggerProvider).FullName!, LogLevel.Warning, default,
                    $"{lost} log lines dropped: stdout did not take them in time", null, (object?)null));
            while (lines.TryDequeue(out var line))
            {
                Interlocked.Add(ref queuedBytes, -line.Length);
                batch.Write(line);
                if (batch.WrittenCount >= WakeBytes) Flush(batch);
            }
            Flush(batch);
            if (last) return;
        }
    }

    void Flush(ArrayBufferWriter<byte> batch)
    {
        if (batch.WrittenCount > 0 && !broken)
        {
            try
            {
                output.Write(batch.WrittenSpan);
                output.Flush();
            }
            catch (IOException)
            {
                broken = true;   // stdout closed: logging stops, requests go on
            }
        }
        batch.ResetWrittenCount();
    }

    static readonly KeptJsonWriter LineWriter = new(new JsonWriterOptions { SkipValidation = true });

    /// <summary>One log entry as a JSON line (with its newline), in Microsoft's JSON console shape.</summary>
    static byte[] Line<TState>(string category, LogLevel level, EventId eventId, string? message, Exception? exception, TState state)
    {
        var json = LineWriter.WriteObject((category, level, eventId, message, exception, state), static (json, entry) =>
        {
            json.WriteNumber("EventId", entry.eventId.Id);
            json.WriteString("LogLevel", entry.level.ToString());
            json.WriteString("Category", entry.category);
            json.WriteString("Message", entry.message);
            if (entry.exception is not null) json.WriteString("Exception", entry.exception.ToString().Replace(Environment.NewLine, " "));
            if (entry.state is IReadOnlyCollection<KeyValuePair<string, object?>> properties)
            {
                json.WriteStartObject("State");
                foreach (var (key, value) in properties) WriteProperty(json, key, value);
                json.WriteEndObject();
            }
        });
        var line = new byte[json.Length + 1];
        json.CopyTo(line);
        line[^1] = (byte)'\n';
        return line;
    }

    static void WriteProperty(Utf8JsonWriter json, string key, object? value)
    {
        switch (value)
        {
            case null: json.WriteNull(key); break;
            case bool b: json.WriteBoolean(key, b); break;
            case int i: json.WriteNumber(key, i); break;
            case long l: json.WriteNumber(key, l); break;
            case double d when double.IsFinite(d): json.WriteNumber(key, d); break;
            case float f when float.IsFinite(f): json.WriteNumber(key, f); break;
            case decimal m: json.WriteNumber(key, m); break;
            case byte or sbyte or short or ushort or uint: json.WriteNumber(key, Convert.ToInt64(value, CultureInfo.InvariantCulture)); break;
            case ulong u: json.WriteNumber(key, u); break;
            default: json.WriteString(key, Convert.ToString(value, CultureInfo.InvariantCulture)); break;
        }
    }

    sealed class JsonLineLogger(JsonLineLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var message = formatter(state, exception);
            if (message is null && exception is null) return;
            provider.Enqueue(Line(category, logLevel, eventId, message, exception, state));
        }
    }
}
