using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace ImFunctions.Bench;

/// <summary>
/// Connection capacity: the app's memory with 1k, 5k, 10k idle push sockets, one user each. Client access URLs
/// are minted with the hub's access key in Web PubSub's documented token format (as an app server does for the
/// real service), so 10k sockets need no 10k logins.
/// </summary>
public static class SocketScenario
{
    public static async Task RunAsync(Bench bench)
    {
        var o = bench.Options;
        await using var app = await bench.StartAppAsync("sockets");
        var sockets = new List<PushReceiver>();
        try
        {
            if (!o.Smoke) await Task.Delay(TimeSpan.FromSeconds(2));
            var baseline = app.Stats().RssBytes;
            bench.Log($"  sockets   baseline rss {baseline / 1048576.0:0} MiB");
            foreach (var target in o.SocketCounts)
            {
                var failed = 0;
                var clock = Stopwatch.StartNew();
                var batch = new PushReceiver?[target - sockets.Count];
                var first = sockets.Count;
                using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(3));
                await Parallel.ForEachAsync(Enumerable.Range(0, batch.Length),
                    new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = deadline.Token }, async (i, ct) =>
                    {
                        var url = ClientUrl(app.Port, $"idle-{first + i}");
                        try { batch[i] = await PushReceiver.ConnectAsync(url, null, bufferSize: 1024, ct); }
                        catch (Exception e) when (e is System.Net.WebSockets.WebSocketException or IOException or OperationCanceledException)
                        {
                            Interlocked.Increment(ref failed);
                        }
                    });
                sockets.AddRange(batch.OfType<PushReceiver>());
                var connectSeconds = clock.Elapsed.TotalSeconds;

                // Let the server settle, then read its memory and its CPU while every socket sits idle.
                await Task.Delay(TimeSpan.FromSeconds(o.Smoke ? 0.1 : 3));
                var window = new Window(app.Stats);
                await Task.Delay(TimeSpan.FromSeconds(o.Smoke ? 0.1 : 2));
                var idle = window.Stop();
                var stats = app.Stats();
                var level = new SocketLevel(sockets.Count, stats.RssBytes, baseline, stats.Threads, connectSeconds, idle.ServerCpuPercent, failed);
                bench.Report.Sockets.Add(level);
                bench.Log($"  sockets {level.Sockets,6}  rss {level.RssBytes / 1048576.0,6:0} MiB  {level.KibPerSocket,5:0.0} KiB/socket  " +
                          $"threads {level.ServerThreads}  connected in {connectSeconds:0.0} s  idle cpu {idle.ServerCpuPercent:0}%  failed {failed}");
                if (failed > 0) break;
            }
        }
        finally
        {
            await Parallel.ForEachAsync(sockets, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (s, _) => await s.DisposeAsync());
        }
    }

    /// <summary>A Web PubSub client access URL: HS256 over the access key's UTF-8 bytes, aud = the hub's client URL, sub = user.</summary>
    public static string ClientUrl(int port, string userId)
    {
        static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var audience = $"ws://127.0.0.1:{port}/client/hubs/im";
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = B64(JsonSerializer.SerializeToUtf8Bytes(new { alg = "HS256", typ = "JWT" }));
        var payload = B64(JsonSerializer.SerializeToUtf8Bytes(new { aud = audience, sub = userId, iat = now, nbf = now, exp = now + 3600 }));
        var signature = B64(HMACSHA256.HashData(Encoding.UTF8.GetBytes(ServerProcess.HubAccessKey), Encoding.ASCII.GetBytes(header + "." + payload)));
        return $"{audience}?access_token={header}.{payload}.{signature}";
    }
}
