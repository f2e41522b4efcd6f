using System.Text;
using System.Text.Json;
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;

namespace ImFunctions.Bench;

/// <summary>How ejabberd's SQLite file is synced: as shipped, or as our store runs it.</summary>
public enum EjabberdDurability
{
    /// <summary>ejabberd's own setup: it creates the schema and sets no pragma, so SQLite's defaults (rollback journal, synchronous=FULL).</summary>
    Stock,
    /// <summary>The schema ejabberd ships, created in WAL mode before the start; synchronous=NORMAL on ejabberd's connection.</summary>
    WalNormal,
}

/// <summary>
/// The peer of the <c>ejabberd</c> scenario: Debian's ejabberd as a throwaway instance of its own. Its configuration
/// comes from ejabberd/ejabberd.yml; spool (Mnesia), logs and the SQLite file live in the bench's work folder; one
/// free loopback port serves /api and /ws. It starts as <c>ejabberdctl foreground</c> would start it, minus epmd:
/// erl with its own node name and cookie on a private distribution port, bound to loopback. Stopped by pid (SIGTERM,
/// which Erlang turns into a clean stop; killed after 10 s).
/// </summary>
public sealed class EjabberdPeer : IAsyncDisposable
{
    public const string Domain = "localhost";
    public const string Password = "bench-password";
    const string Erl = "/usr/bin/erl";
    const string Install = "bash bench/ImFunctions.Bench/ejabberd/install.sh (as root) installs Debian's ejabberd and erlang-p1-sqlite3";

    readonly HttpClient http;
    readonly string sqliteReport;

    public ServerProcess Server { get; }
    public EjabberdDurability Durability { get; }
    /// <summary>The Debian package version, e.g. 23.01-1.</summary>
    public string Version { get; }
    public int Port => Server.Port;
    public Uri WebSocket => new($"ws://127.0.0.1:{Port}/ws");

    EjabberdPeer(ServerProcess server, EjabberdDurability durability, string version, string sqliteReport)
    {
        Server = server;
        Durability = durability;
        Version = version;
        this.sqliteReport = sqliteReport;
        http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public static async Task<EjabberdPeer> StartAsync(Bench bench, EjabberdDurability durability)
    {
        var release = Release();
        var version = Path.GetFileName(release)["ejabberd-".Length..];
        var folder = Path.Combine(bench.WorkDirectory, "ejabberd-" + durability.ToString().ToLowerInvariant());
        var spool = Path.Combine(folder, "spool");
        var logs = Path.Combine(folder, "logs");
        Directory.CreateDirectory(spool);
        Directory.CreateDirectory(logs);

        var port = ServerProcess.FreePort();
        var database = Path.Combine(folder, "ejabberd.db");
        var templates = Path.Combine(AppContext.BaseDirectory, "ejabberd");
        var config = Path.Combine(folder, "ejabberd.yml");
        await File.WriteAllTextAsync(config, (await File.ReadAllTextAsync(Path.Combine(templates, "ejabberd.yml")))
            .Replace("{{DOMAIN}}", Domain).Replace("{{HTTP_PORT}}", port.ToString()).Replace("{{SQLITE_PATH}}", database));
        if (durability == EjabberdDurability.WalNormal) CreateWalDatabase(database, Path.Combine(release, "priv", "sql", "lite.sql"));

        // ejabberdctl's foreground command line (+K true +P 250000, no crash dump), with a node of our own: a private
        // name and cookie, distribution on a free loopback port instead of epmd, so nothing else can clash with it.
        var node = $"imfbench-{Environment.ProcessId}-{port}@localhost";
        string[] command =
        [
            Erl, "-sname", node, "-setcookie", Convert.ToHexString(RandomNumberGenerator.GetBytes(16)),
            "-erl_epmd_port", ServerProcess.FreePort().ToString(), "-start_epmd", "false",
            "-kernel", "inet_dist_use_interface", "{127,0,0,1}",
            "-noinput", "+K", "true", "+P", "250000", "-env", "ERL_CRASH_DUMP_BYTES", "0",
            "-mnesia", "dir", $"\"{spool}\"", "-s", "ejabberd",
            "-eval", await File.ReadAllTextAsync(Path.Combine(templates, "sqlite-pragmas.erl")),
        ];
        var report = Path.Combine(logs, "sqlite-connection.txt");
        var env = new Dictionary<string, string>
        {
            ["EJABBERD_CONFIG_PATH"] = config,
            ["EJABBERD_LOG_PATH"] = Path.Combine(logs, "ejabberd.log"),
            ["ERL_LIBS"] = Path.GetDirectoryName(release)!,
            ["ERL_CRASH_DUMP"] = Path.Combine(logs, "erl_crash.dump"),
            ["BENCH_DOMAIN"] = Domain,
            ["BENCH_SQLITE_PRAGMAS"] = durability == EjabberdDurability.WalNormal ? "pragma synchronous = normal" : "",
            ["BENCH_SQLITE_REPORT"] = report,
        };
        var server = await ServerProcess.LaunchAsync("ejabberd", command, env, bench.WorkDirectory, port, "/api/status", folder);
        // erl and erlexec exec into the emulator: the pid we measure must be beam.smp itself.
        var comm = File.ReadAllText($"/proc/{server.Pid}/comm").Trim();
        if (comm != "beam.smp")
        {
            await server.DisposeAsync();
            throw new InvalidOperationException($"expected pid {server.Pid} to be beam.smp, found {comm}: CPU and RSS would be someone else's");
        }
        return new EjabberdPeer(server, durability, version, report);
    }

    /// <summary>The installed release folder (/usr/lib/&lt;triplet&gt;/ejabberd-23.01-1), or a clear failure naming the fix.</summary>
    static string Release()
    {
        if (!File.Exists(Erl)) throw new InvalidOperationException($"ejabberd scenario: {Erl} is missing. {Install}.");
        // The folder itself, not Debian's ejabberd-23.01 link to it: its name carries the package revision.
        var release = Directory.EnumerateDirectories("/usr/lib", "ejabberd-*",
                new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 1, IgnoreInaccessible = true })
            .FirstOrDefault(dir => new DirectoryInfo(dir).LinkTarget is null && File.Exists(Path.Combine(dir, "ebin", "ejabberd.app")))
            ?? throw new InvalidOperationException($"ejabberd scenario: no ejabberd release under /usr/lib/*/ejabberd-*. {Install}.");
        if (!Directory.Exists("/usr/lib/erlang/lib") || !Directory.EnumerateDirectories("/usr/lib/erlang/lib", "p1_sqlite3-*").Any())
            throw new InvalidOperationException($"ejabberd scenario: ejabberd's SQLite driver (erlang-p1-sqlite3) is missing. {Install}.");
        return release;
    }

    /// <summary>The schema ejabberd would create (its lite.sql), in a file already in WAL mode: journal_mode=WAL persists in the file.</summary>
    static void CreateWalDatabase(string path, string schema)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode=WAL";
        if (command.ExecuteScalar() as string != "wal") throw new InvalidOperationException($"{path} did not switch to WAL");
        using var transaction = connection.BeginTransaction();
        command.Transaction = transaction;
        command.CommandText = File.ReadAllText(schema);
        command.ExecuteNonQuery();
        transaction.Commit();
    }

    /// <summary>
    /// Registers accounts through mod_http_api's <c>register</c> (one HTTP call each, a few at a time). On a machine
    /// busy with other work ejabberd sometimes answers a register 500 "internal_error" with nothing in its error log
    /// (seen once in a smoke run beside two busy cores, right after a 36 s start): such a call is tried again, a few
    /// times, and "already registered" on a retry means the earlier try got through.
    /// </summary>
    public async Task RegisterAsync(IEnumerable<string> users)
    {
        const int Tries = 5;
        await Parallel.ForEachAsync(users, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (user, ct) =>
        {
            for (var attempt = 1; ; attempt++)
            {
                // A content with a length: ejabberd's HTTP server does not take chunked request bodies.
                using var body = new StringContent(JsonSerializer.Serialize(new { user, host = Domain, password = Password }), Encoding.UTF8, "application/json");
                using var response = await http.PostAsync("/api/register", body, ct);
                var text = await response.Content.ReadAsStringAsync(ct);
                if (response.IsSuccessStatusCode && text.Contains("successfully registered")) return;
                if (attempt > 1 && text.Contains("already registered")) return;
                if ((int)response.StatusCode < 500 || attempt == Tries)
                    throw new InvalidOperationException($"ejabberd register {user} (try {attempt}): {(int)response.StatusCode} {text}; {ErrorLog()}");
                await Task.Delay(TimeSpan.FromSeconds(attempt), ct);
            }
        });
    }

    /// <summary>
    /// What ejabberd's SQLite connection runs with (journal_mode, synchronous), as sqlite-pragmas.erl read it back on
    /// the connection itself; fails unless it is what <see cref="Durability"/> promises. Call after the first SQL use.
    /// </summary>
    public async Task<string> SqliteConnectionAsync()
    {
        var expected = Durability == EjabberdDurability.WalNormal ? "journal_mode=wal synchronous=1" : "journal_mode=delete synchronous=2";
        string? last = null;
        for (var waited = 0; waited < 150 && last is null; waited++)
        {
            if (File.Exists(sqliteReport)) last = File.ReadLines(sqliteReport).LastOrDefault(l => l.Length > 0);
            if (last is null) await Task.Delay(100);
        }
        if (last != expected)
            throw new InvalidOperationException($"ejabberd's SQLite connection reports '{last ?? "nothing"}', expected '{expected}' for {Durability}");
        return last;
    }

    /// <summary>The end of ejabberd's error log, for failures that would otherwise say only "internal_error".</summary>
    string ErrorLog()
    {
        var path = Path.Combine(Server.DataDirectory!, "logs", "error.log");
        try { var text = File.ReadAllText(path); return "error.log: " + (text.Length > 3000 ? text[^3000..] : text); }
        catch (IOException) { return "(no error.log)"; }
    }

    public async ValueTask DisposeAsync()
    {
        http.Dispose();
        await Server.DisposeAsync();
    }
}
