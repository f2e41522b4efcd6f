using System.Text;
using System.Text.Json;

namespace ImFunctions.Bench;

/// <summary>
/// Reads the app's request log (one JSON line per request, written by RequestLog) for the store work each
/// request caused and the pushes it queued: the SPEC §8 budgets, measured under load rather than in a unit test.
/// </summary>
public static class AppLog
{
    public static RequestCost? Cost(string path, long from, long to, string method)
    {
        int requests = 0, maxReads = 0, maxWrites = 0;
        long reads = 0, queries = 0, writes = 0, pushes = 0;
        foreach (var state in Requests(path, from, to, method))
        {
            if (state.GetProperty("Method").GetString() != method || state.GetProperty("Status").GetInt32() != 200) continue;
            var r = state.GetProperty("PointReads").GetInt32();
            var w = state.GetProperty("Writes").GetInt32();
            requests++;
            reads += r;
            writes += w;
            queries += state.GetProperty("Queries").GetInt32();
            pushes += state.GetProperty("Pushes").GetInt32();
            maxReads = Math.Max(maxReads, r);
            maxWrites = Math.Max(maxWrites, w);
        }
        return requests == 0 ? null
            : new RequestCost(requests, reads / (double)requests, queries / (double)requests, writes / (double)requests, maxReads, maxWrites,
                pushes / (double)requests);
    }

    /// <summary>The State of each request line between two log offsets (lines not naming <paramref name="method"/> are skipped unparsed).</summary>
    static IEnumerable<JsonElement> Requests(string path, long from, long to, string? method)
    {
        if (to <= from || !File.Exists(path)) yield break;
        var bytes = new byte[to - from];
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        {
            file.Seek(from, SeekOrigin.Begin);
            file.ReadExactly(bytes);
        }
        foreach (var line in Encoding.UTF8.GetString(bytes).Split('\n'))
        {
            if (method is not null && !line.Contains(method, StringComparison.Ordinal)) continue;
            if (!line.Contains("\"PointReads\"", StringComparison.Ordinal)) continue;
            JsonElement state;
            try
            {
                using var doc = JsonDocument.Parse(line);
                state = doc.RootElement.GetProperty("State").Clone();
                _ = state.GetProperty("Method");
                _ = state.GetProperty("Status");
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException) { continue; }
            yield return state;
        }
    }
}
