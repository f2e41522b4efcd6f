using System.Text;
using System.Text.Json;

namespace ImFunctions.Bench;

/// <summary>
/// Reads the app's request log (one JSON line per request, written by RequestLog) for the store work each
/// request caused: the SPEC §8 budgets, measured under load rather than in a unit test.
/// </summary>
public static class AppLog
{
    public static StoreOps? StoreOps(string path, long from, long to, string method)
    {
        if (to <= from || !File.Exists(path)) return null;
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        file.Seek(from, SeekOrigin.Begin);
        var bytes = new byte[to - from];
        file.ReadExactly(bytes);
        int requests = 0, maxReads = 0, maxWrites = 0;
        long reads = 0, queries = 0, writes = 0;
        foreach (var line in Encoding.UTF8.GetString(bytes).Split('\n'))
        {
            if (!line.Contains(method, StringComparison.Ordinal) || !line.Contains("\"PointReads\"", StringComparison.Ordinal)) continue;
            try
            {
                using var doc = JsonDocument.Parse(line);
                var state = doc.RootElement.GetProperty("State");
                if (state.GetProperty("Method").GetString() != method || state.GetProperty("Status").GetInt32() != 200) continue;
                var r = state.GetProperty("PointReads").GetInt32();
                var w = state.GetProperty("Writes").GetInt32();
                requests++;
                reads += r;
                writes += w;
                queries += state.GetProperty("Queries").GetInt32();
                maxReads = Math.Max(maxReads, r);
                maxWrites = Math.Max(maxWrites, w);
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException) { }
        }
        return requests == 0 ? null
            : new StoreOps(requests, reads / (double)requests, queries / (double)requests, writes / (double)requests, maxReads, maxWrites);
    }
}
