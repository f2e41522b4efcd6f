using System.Diagnostics;
using System.Text.Json;

namespace ImFunctions.Tests.Support.FunctionsHost;

/// <summary>
/// The worker process, launched the way the host launches a language worker: the command from the app's
/// <c>worker.config.json</c>, run in the app directory, with the host's connection arguments and the
/// FUNCTIONS_* variables the host sets for it.
/// </summary>
sealed class WorkerProcess : IAsyncDisposable
{
    // The host passes int.MaxValue (RpcWorkerConstants.DefaultMaxMessageLengthBytes).
    const int GrpcMaxMessageLength = int.MaxValue;

    readonly Process process;

    WorkerProcess(Process process) => this.process = process;

    public bool HasExited => process.HasExited;

    public Task Exited => process.WaitForExitAsync();

    public static WorkerProcess Start(string appDirectory, Uri hostUri, string workerId, IDictionary<string, string> environment, WorkerLog log)
    {
        var (executable, workerPath) = ReadCommand(appDirectory);
        var start = new ProcessStartInfo(executable)
        {
            WorkingDirectory = appDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(workerPath);
        // The host's argument list (WorkerContext.GetFormattedArguments): the old names and the "functions-"
        // names side by side. The .NET worker 2.x reads only the latter (WorkerHostBuilderExtensions.RegisterCommandLine).
        var requestId = Guid.NewGuid().ToString();
        foreach (var arg in new[]
        {
            "--host", hostUri.Host, "--port", hostUri.Port.ToString(), "--workerId", workerId, "--requestId", requestId,
            "--grpcMaxMessageLength", GrpcMaxMessageLength.ToString(),
            "--functions-uri", hostUri.AbsoluteUri, "--functions-worker-id", workerId, "--functions-request-id", requestId,
            "--functions-grpc-max-message-length", GrpcMaxMessageLength.ToString(),
        })
            start.ArgumentList.Add(arg);

        // What RpcWorkerProcess adds to the host's own environment. The worker needs FUNCTIONS_APPLICATION_DIRECTORY
        // to load functions and to find host.json's route prefix.
        start.Environment["FUNCTIONS_WORKER_RUNTIME"] = "dotnet-isolated";
        start.Environment["FUNCTIONS_WORKER_DIRECTORY"] = appDirectory;
        start.Environment["FUNCTIONS_APPLICATION_DIRECTORY"] = appDirectory;
        foreach (var (name, value) in environment) start.Environment[name] = value;

        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) log.Add(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) log.Add(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new WorkerProcess(process);
    }

    // worker.config.json is what the host reads to know how to start a worker; the Functions SDK writes it at build.
    public static (string Executable, string WorkerPath) ReadCommand(string appDirectory)
    {
        var path = Path.Combine(appDirectory, "worker.config.json");
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path} is missing: build or publish the Functions project into {appDirectory}", path);
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var description = doc.RootElement.GetProperty("description");
        if (description.TryGetProperty("workerIndexing", out var indexing) && indexing.GetString() != "true")
            throw new NotSupportedException("the emulator asks the worker for its functions (worker indexing); this worker does not index");
        return (description.GetProperty("defaultExecutablePath").GetString()!,
                Path.Combine(appDirectory, description.GetProperty("defaultWorkerPath").GetString()!));
    }

    /// <summary>After WorkerTerminate the worker stops by itself; a worker that does not is killed, like the host does after the grace period.</summary>
    public async Task StopAsync(TimeSpan gracePeriod, WorkerLog log)
    {
        using var grace = new CancellationTokenSource(gracePeriod);
        try { await process.WaitForExitAsync(grace.Token); }
        catch (OperationCanceledException)
        {
            log.Add($"(emulator) the worker was still running {gracePeriod.TotalSeconds} s after WorkerTerminate; killed");
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        process.Dispose();
    }
}
