using System.Text;
using ImFunctions.Tests.Support.FunctionsHost.Rpc;

namespace ImFunctions.Tests.Support.FunctionsHost;

/// <summary>
/// What the worker said: its console output and the log records it streams to the host. Kept for failure
/// messages, so a test that fails against the worker shows the worker's side of the story.
/// </summary>
public sealed class WorkerLog
{
    const int MaxLines = 2000;
    readonly Queue<string> lines = new();

    public void Add(string line)
    {
        lock (lines)
        {
            lines.Enqueue(line);
            if (lines.Count > MaxLines) lines.Dequeue();
        }
    }

    internal void Add(RpcLog log)
    {
        var text = $"[{log.Level}] {log.Category}: {log.Message}";
        if (log.Exception is { } e) text += $"\n    {e.Type}: {e.Message}\n{e.StackTrace}";
        Add(text);
    }

    public override string ToString()
    {
        lock (lines) return new StringBuilder().AppendJoin('\n', lines).ToString();
    }
}
