using System.Diagnostics;
using System.Text;
using System.Text.Json;
using ImFunctions.Local.Hosting;
using Microsoft.Extensions.Logging;

namespace ImFunctions.Tests.Local;

/// <summary>
/// The local host's log writes JSON lines in batches: every line must still arrive whole, in order, in Microsoft's
/// JSON console shape, and a stdout that stops taking lines must never hold a request up.
/// </summary>
public sealed class JsonLineLoggerTests
{
    [Test]
    public void A_line_has_the_shape_of_Microsofts_json_console()
    {
        var output = new Output();
        using (var provider = new JsonLineLoggerProvider(output))
        {
            var log = provider.CreateLogger("ImFunctions.Api.Hosting.ImPipeline");
            log.LogInformation(new EventId(7), "{Method} {Status} in {ElapsedMs:0.0} ms {Ok} {Missing} {Subject}", "sendMsg", 200, 0.4928, true, null, "中文\"q\"");
            log.LogError(new InvalidOperationException("broke\non two lines"), "failed {Method}", "getMsgList");
        }

        var lines = output.Lines();
        Assert.That(lines, Has.Length.EqualTo(2));
        using var first = JsonDocument.Parse(lines[0]);
        var root = first.RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(root.GetProperty("EventId").GetInt32(), Is.EqualTo(7));
            Assert.That(root.GetProperty("LogLevel").GetString(), Is.EqualTo("Information"));
            Assert.That(root.GetProperty("Category").GetString(), Is.EqualTo("ImFunctions.Api.Hosting.ImPipeline"));
            Assert.That(root.GetProperty("Message").GetString(), Is.EqualTo("sendMsg 200 in 0.5 ms True (null) 中文\"q\""));
            Assert.That(root.TryGetProperty("Exception", out _), Is.False);
            var state = root.GetProperty("State");
            Assert.That(state.GetProperty("Method").GetString(), Is.EqualTo("sendMsg"));
            Assert.That(state.GetProperty("Status").ValueKind, Is.EqualTo(JsonValueKind.Number));
            Assert.That(state.GetProperty("Status").GetInt32(), Is.EqualTo(200));
            Assert.That(state.GetProperty("ElapsedMs").GetDouble(), Is.EqualTo(0.4928));
            Assert.That(state.GetProperty("Ok").GetBoolean(), Is.True);
            Assert.That(state.GetProperty("Missing").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(state.GetProperty("Subject").GetString(), Is.EqualTo("中文\"q\""));
            Assert.That(state.GetProperty("{OriginalFormat}").GetString(), Does.StartWith("{Method} {Status}"));
        });

        using var second = JsonDocument.Parse(lines[1]);
        Assert.Multiple(() =>
        {
            Assert.That(second.RootElement.GetProperty("LogLevel").GetString(), Is.EqualTo("Error"));
            Assert.That(second.RootElement.GetProperty("Exception").GetString(), Does.Contain("broke"));
        });
    }

    [Test]
    public void Lines_from_many_threads_all_arrive_whole_and_each_threads_in_order()
    {
        const int threads = 8, perThread = 5_000;
        var output = new Output();
        using (var provider = new JsonLineLoggerProvider(output))
        {
            var log = provider.CreateLogger("test");
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            {
                for (var i = 0; i < perThread; i++) log.LogInformation("{Thread} {Index}", t, i);
            });
        }

        var next = new int[threads];
        foreach (var line in output.Lines())
        {
            using var doc = JsonDocument.Parse(line);
            var state = doc.RootElement.GetProperty("State");
            var thread = state.GetProperty("Thread").GetInt32();
            Assert.That(state.GetProperty("Index").GetInt32(), Is.EqualTo(next[thread]), $"thread {thread}");
            next[thread]++;
        }
        Assert.That(next, Is.All.EqualTo(perThread));
    }

    [Test]
    public void A_line_reaches_stdout_without_waiting_for_the_host_to_stop()
    {
        var output = new Output();
        using var provider = new JsonLineLoggerProvider(output);
        provider.CreateLogger("test").LogWarning("one line");

        var waited = Stopwatch.StartNew();
        while (output.Lines().Length == 0 && waited.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(5);
        Assert.That(output.Lines(), Has.Length.EqualTo(1));
    }

    [Test]
    public void A_stdout_that_stops_taking_lines_holds_no_caller_up_and_the_lines_it_missed_are_counted()
    {
        var output = new Output { Blocked = new ManualResetEventSlim(false) };
        var message = new string('x', 4_000);
        var lines = JsonLineLoggerProvider.MaxQueuedBytes / message.Length * 2;
        using (var provider = new JsonLineLoggerProvider(output))
        {
            var log = provider.CreateLogger("test");
            var logging = Task.Run(() =>
            {
                for (var i = 0; i < lines; i++) log.LogInformation("{Index} {Text}", i, message);
            });
            Assert.That(logging.Wait(TimeSpan.FromSeconds(30)), Is.True, "a caller waited for stdout");
            output.Blocked.Set();
        }

        var written = output.Lines();
        var drop = written.Select(l => JsonDocument.Parse(l).RootElement).Single(l => l.GetProperty("LogLevel").GetString() == "Warning");
        var dropped = long.Parse(drop.GetProperty("Message").GetString()!.Split(' ')[0]);
        Assert.Multiple(() =>
        {
            Assert.That(dropped, Is.GreaterThan(0));
            Assert.That(written.Length - 1 + dropped, Is.EqualTo(lines), "every line is written or counted");
        });
    }

    [Test]
    public void A_closed_stdout_does_not_break_logging()
    {
        var output = new Output { Broken = true };
        using var provider = new JsonLineLoggerProvider(output);
        var log = provider.CreateLogger("test");
        Assert.DoesNotThrow(() =>
        {
            for (var i = 0; i < 100; i++) log.LogInformation("{Index}", i);
            Thread.Sleep(3 * JsonLineLoggerProvider.FlushInterval);
            log.LogInformation("after");
        });
    }

    /// <summary>stdout as the writer sees it: it may block (a pipe nobody reads) or fail (closed).</summary>
    sealed class Output : Stream
    {
        readonly MemoryStream written = new();
        public ManualResetEventSlim? Blocked { get; init; }
        public bool Broken { get; init; }

        public string[] Lines()
        {
            lock (written) return Encoding.UTF8.GetString(written.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (Broken) throw new IOException("Broken pipe");
            Blocked?.Wait();
            lock (written) written.Write(buffer);
        }

        public override void Flush() { }
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
