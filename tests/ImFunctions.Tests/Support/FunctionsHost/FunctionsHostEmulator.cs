using System.Diagnostics;
using System.Text.Json;
using Google.Protobuf.WellKnownTypes;
using ImFunctions.Tests.Support.FunctionsHost.Rpc;
using static ImFunctions.Tests.Support.FunctionsHost.Rpc.StreamingMessage;

namespace ImFunctions.Tests.Support.FunctionsHost;

/// <summary>
/// Plays the Azure Functions host for a .NET isolated worker with ASP.NET Core integration, since the real one
/// (Core Tools) cannot be installed here. It starts the built worker the way the host does, runs the start-up
/// handshake over the host/worker gRPC protocol (StartStream, WorkerInit, FunctionsMetadata, FunctionLoad), and
/// then serves <c>POST /api/&lt;function&gt;</c> on a loopback port the way Azure's front end and host do.
/// </summary>
public sealed class FunctionsHostEmulator : IAsyncDisposable
{
    static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(60);
    static readonly TimeSpan GracePeriod = TimeSpan.FromSeconds(5);
    const string HttpUriCapability = "HttpUri";

    readonly WorkerChannel channel;
    readonly WorkerProcess worker;
    HostFrontEnd frontEnd = null!;

    FunctionsHostEmulator(WorkerChannel channel, WorkerProcess worker, WorkerLog log)
    {
        this.channel = channel;
        this.worker = worker;
        Log = log;
    }

    /// <summary>Where callers send requests: <c>{BaseAddress}api/sendMsg</c>.</summary>
    public Uri BaseAddress => frontEnd.BaseAddress;

    /// <summary>The functions the worker declared in its metadata, as the host indexed them.</summary>
    public IReadOnlyList<DeclaredFunction> Functions { get; private set; } = [];

    /// <summary>The worker's console output and streamed logs, for failure messages.</summary>
    public WorkerLog Log { get; }

    /// <summary>From launching the worker until its functions were loaded.</summary>
    public TimeSpan StartupTime { get; private set; }

    /// <summary>Invocations the worker reported as failed (or never answered); each also answered the caller with a 500.</summary>
    public IReadOnlyList<string> Failures { get { lock (frontEnd.Failures) return frontEnd.Failures.ToList(); } }

    /// <summary>A client for <see cref="BaseAddress"/> that ignores any proxy set in the environment.</summary>
    public HttpClient CreateClient() => new(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = BaseAddress };

    /// <summary>
    /// Starts the worker built or published into <paramref name="app"/> (the folder holding worker.config.json,
    /// or the worker's dll in it). <paramref name="environment"/> holds the app settings, as Azure passes them.
    /// </summary>
    public static async Task<FunctionsHostEmulator> StartAsync(string app, IDictionary<string, string>? environment = null)
    {
        var appDirectory = Path.GetFullPath(app.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) ? Path.GetDirectoryName(app)! : app);
        WorkerProcess.ReadCommand(appDirectory);   // a folder that holds no worker fails here, before anything starts
        var log = new WorkerLog();
        var clock = Stopwatch.StartNew();
        var channel = await WorkerChannel.StartAsync(log);
        var workerId = Guid.NewGuid().ToString();
        var host = new FunctionsHostEmulator(channel, WorkerProcess.Start(appDirectory, channel.Address, workerId, environment ?? new Dictionary<string, string>(), log), log);
        try
        {
            // Start-up fails fast if the worker dies, and within a minute if it hangs.
            using var startup = new CancellationTokenSource(StartupTimeout);
            var handshake = host.HandshakeAsync(appDirectory, workerId, startup.Token);
            if (await Task.WhenAny(handshake, host.worker.Exited) != handshake)
            {
                startup.Cancel();
                throw new InvalidOperationException("the worker exited");
            }
            await handshake;
            host.StartupTime = clock.Elapsed;
            return host;
        }
        catch (Exception e)
        {
            await host.DisposeAsync();
            throw new InvalidOperationException($"the worker in {appDirectory} did not start ({e.Message}). It said:\n{log}", e);
        }
    }

    async Task HandshakeAsync(string appDirectory, string workerId, CancellationToken ct)
    {
        var connectedAs = await channel.Connected.WaitAsync(ct);
        if (connectedAs != workerId) throw new InvalidOperationException($"the worker introduced itself as {connectedAs}, not {workerId}");

        var init = (await channel.RequestAsync(new StreamingMessage
        {
            WorkerInitRequest = new WorkerInitRequest { HostVersion = "4.0.0-emulated", WorkerDirectory = appDirectory, FunctionAppDirectory = appDirectory },
        }, ContentOneofCase.WorkerInitResponse, ct)).WorkerInitResponse;
        EnsureSuccess(init.Result, "WorkerInit");
        // ASP.NET Core integration is the worker saying where its own Kestrel listens for forwarded requests.
        if (!init.Capabilities.TryGetValue(HttpUriCapability, out var httpUri))
            throw new InvalidOperationException("the worker did not advertise HttpUri: is ConfigureFunctionsWebApplication() missing?");

        var metadata = (await channel.RequestAsync(new StreamingMessage
        {
            FunctionsMetadataRequest = new FunctionsMetadataRequest { FunctionAppDirectory = appDirectory },
        }, ContentOneofCase.FunctionMetadataResponse, ct)).FunctionMetadataResponse;
        EnsureSuccess(metadata.Result, "FunctionsMetadata");
        if (metadata.UseDefaultMetadataIndexing)
            throw new NotSupportedException("the worker asked the host to index functions.metadata itself; the emulator only does worker indexing");
        Functions = metadata.FunctionMetadataResults.Select(DeclaredFunction.From).ToList();

        foreach (var function in Functions)
        {
            var loaded = (await channel.RequestAsync(new StreamingMessage { FunctionLoadRequest = LoadRequestFor(function) },
                ContentOneofCase.FunctionLoadResponse, ct)).FunctionLoadResponse;
            EnsureSuccess(loaded.Result, $"FunctionLoad of {function.Name}");
        }

        frontEnd = await HostFrontEnd.StartAsync(channel, new Uri(httpUri), Functions, RoutePrefix(appDirectory));
    }

    // The host builds the load request from the indexed metadata: bindings come from the raw binding JSON.
    static FunctionLoadRequest LoadRequestFor(DeclaredFunction function)
    {
        var metadata = new RpcFunctionMetadata
        {
            Name = function.Name,
            Directory = function.Rpc.Directory,
            ScriptFile = function.ScriptFile,
            EntryPoint = function.EntryPoint,
        };
        foreach (var binding in function.Bindings) metadata.Bindings[binding.Name] = binding.ToRpc();
        metadata.Properties.Add(function.Rpc.Properties);
        return new FunctionLoadRequest { FunctionId = function.FunctionId, Metadata = metadata };
    }

    // host.json's extensions.http.routePrefix, "api" unless set (an empty prefix is allowed).
    static string RoutePrefix(string appDirectory)
    {
        var hostJson = Path.Combine(appDirectory, "host.json");
        if (!File.Exists(hostJson)) return "api";
        using var doc = JsonDocument.Parse(File.ReadAllText(hostJson), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        return doc.RootElement.TryGetProperty("extensions", out var ext) && ext.TryGetProperty("http", out var http)
            && http.TryGetProperty("routePrefix", out var prefix) ? prefix.GetString() ?? "api" : "api";
    }

    static void EnsureSuccess(StatusResult? result, string step)
    {
        if (result?.Status != StatusResult.Types.Status.Success)
            throw new InvalidOperationException($"{step} failed: {result?.Exception?.Type}: {result?.Exception?.Message}\n{result?.Exception?.StackTrace}");
    }

    /// <summary>Stops like the host: WorkerTerminate with a grace period, then a kill if the worker is still there.</summary>
    public async ValueTask DisposeAsync()
    {
        if (frontEnd is not null) await frontEnd.DisposeAsync();
        if (!worker.HasExited)
        {
            await channel.SendAsync(new StreamingMessage { WorkerTerminate = new WorkerTerminate { GracePeriod = Duration.FromTimeSpan(GracePeriod) } });
            await worker.StopAsync(GracePeriod, Log);
        }
        await worker.DisposeAsync();
        await channel.DisposeAsync();
    }
}
