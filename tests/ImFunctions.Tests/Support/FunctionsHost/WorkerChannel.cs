using System.Collections.Concurrent;
using System.Net;
using System.Threading.Channels;
using Grpc.Core;
using ImFunctions.Tests.Support.FunctionsHost.Rpc;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using static ImFunctions.Tests.Support.FunctionsHost.Rpc.StreamingMessage;

namespace ImFunctions.Tests.Support.FunctionsHost;

/// <summary>
/// The host's end of the gRPC stream: a FunctionRpc server on a loopback port (plain-text HTTP/2, as the host
/// runs it) that the worker dials, one outbound queue so writes never interleave, replies to the start-up
/// requests in arrival order, and invocation responses matched by invocation id.
/// </summary>
sealed class WorkerChannel : IAsyncDisposable
{
    readonly WorkerLog log;
    WebApplication server = null!;
    readonly Channel<StreamingMessage> outbound = Channel.CreateUnbounded<StreamingMessage>(new() { SingleReader = true });
    readonly Channel<StreamingMessage> replies = Channel.CreateUnbounded<StreamingMessage>();
    readonly ConcurrentDictionary<string, TaskCompletionSource<InvocationResponse>> invocations = new();
    readonly TaskCompletionSource<string> connected = new(TaskCreationOptions.RunContinuationsAsynchronously);

    WorkerChannel(WorkerLog log) => this.log = log;

    public Uri Address => new(server.Urls.First());

    /// <summary>The worker id from the worker's StartStream.</summary>
    public Task<string> Connected => connected.Task;

    public static async Task<WorkerChannel> StartAsync(WorkerLog log)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
        // The host lifts gRPC's 4 MB default and tells the worker so (--functions-grpc-max-message-length).
        builder.Services.AddGrpc(o => { o.MaxReceiveMessageSize = null; o.MaxSendMessageSize = null; });
        var channel = new WorkerChannel(log);
        builder.Services.AddSingleton(channel);
        channel.server = builder.Build();
        channel.server.MapGrpcService<FunctionRpcService>();
        await channel.server.StartAsync();
        return channel;
    }

    /// <summary>Sends a start-up request and waits for the worker's reply of the given kind.</summary>
    public async Task<StreamingMessage> RequestAsync(StreamingMessage request, ContentOneofCase reply, CancellationToken ct)
    {
        await outbound.Writer.WriteAsync(request, ct);
        var message = await replies.Reader.ReadAsync(ct);
        if (message.ContentCase != reply)
            throw new InvalidOperationException($"the worker answered {request.ContentCase} with {message.ContentCase}, not {reply}");
        return message;
    }

    public ValueTask SendAsync(StreamingMessage message) => outbound.Writer.WriteAsync(message);

    public async Task<InvocationResponse> InvokeAsync(InvocationRequest request, CancellationToken ct)
    {
        var response = new TaskCompletionSource<InvocationResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        invocations[request.InvocationId] = response;
        try
        {
            await outbound.Writer.WriteAsync(new StreamingMessage { InvocationRequest = request }, ct);
            return await response.Task.WaitAsync(ct);
        }
        finally { invocations.TryRemove(request.InvocationId, out _); }
    }

    // One EventStream call per worker; it lasts as long as the worker.
    async Task RunAsync(IAsyncStreamReader<StreamingMessage> fromWorker, IServerStreamWriter<StreamingMessage> toWorker, CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var writing = WriteAllAsync(toWorker, stop.Token);
        try
        {
            await foreach (var message in fromWorker.ReadAllAsync(ct)) Dispatch(message);
        }
        finally
        {
            stop.Cancel();
            await writing;
            var gone = new IOException("the worker closed its gRPC stream");
            foreach (var pending in invocations.Values) pending.TrySetException(gone);
            replies.Writer.TryComplete(gone);
        }
    }

    void Dispatch(StreamingMessage message)
    {
        switch (message.ContentCase)
        {
            case ContentOneofCase.StartStream:
                connected.TrySetResult(message.StartStream.WorkerId);
                break;
            case ContentOneofCase.RpcLog:
                log.Add(message.RpcLog);
                break;
            case ContentOneofCase.InvocationResponse:
                if (invocations.TryGetValue(message.InvocationResponse.InvocationId, out var pending))
                    pending.TrySetResult(message.InvocationResponse);
                break;
            default:
                // Replies to init, metadata and load requests, and whatever the worker sends that we do not model.
                replies.Writer.TryWrite(message);
                break;
        }
    }

    async Task WriteAllAsync(IServerStreamWriter<StreamingMessage> toWorker, CancellationToken ct)
    {
        try
        {
            await foreach (var message in outbound.Reader.ReadAllAsync(ct)) await toWorker.WriteAsync(message, ct);
        }
        catch (OperationCanceledException) { }
    }

    public async ValueTask DisposeAsync()
    {
        outbound.Writer.TryComplete();
        using (var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(5))) await server.StopAsync(stopping.Token);
        await server.DisposeAsync();
    }

    // gRPC activates a service per call through DI, where the one channel is registered.
    sealed class FunctionRpcService(WorkerChannel channel) : FunctionRpc.FunctionRpcBase
    {
        public override Task EventStream(IAsyncStreamReader<StreamingMessage> requestStream, IServerStreamWriter<StreamingMessage> responseStream, ServerCallContext context)
            => channel.RunAsync(requestStream, responseStream, context.CancellationToken);
    }
}
