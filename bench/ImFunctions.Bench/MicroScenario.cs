using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using ImFunctions.Api.Auth;
using ImFunctions.Api.Hosting;
using ImFunctions.Api.Messages;
using ImFunctions.Core.Storage;
using FluentValidation;
using Microsoft.Extensions.Logging.Abstractions;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Push;
using ImFunctions.Core.Push.WebPubSub;
using ImFunctions.Local.Hosting;

namespace ImFunctions.Bench;

/// <summary>BenchmarkDotNet on the per-send hot code: what each request pays before and after the store.</summary>
public static class MicroScenario
{
    public static void Run(Bench bench)
    {
        var config = ManualConfig.CreateEmpty()
            .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(3).WithIterationCount(5))
            .AddDiagnoser(BenchmarkDotNet.Diagnosers.MemoryDiagnoser.Default)
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddLogger(BenchmarkDotNet.Loggers.NullLogger.Instance)
            .WithArtifactsPath(Path.Combine(bench.WorkDirectory, "micro"))
            .WithOptions(ConfigOptions.DisableLogFile | ConfigOptions.JoinSummary);
        foreach (var report in BenchmarkRunner.Run([typeof(RequestPathBenchmarks), typeof(SendPathBenchmarks)], config).SelectMany(s => s.Reports))
        {
            if (report.ResultStatistics is null) continue;
            var result = new MicroResult(report.BenchmarkCase.Descriptor.WorkloadMethodDisplayInfo.Trim('\''), report.ResultStatistics.Mean,
                report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase) ?? 0);
            bench.Report.Micro.Add(result);
            bench.Log($"  micro     {result.Name,-36} {result.MeanNs / 1000,9:0.00} µs  {result.AllocatedBytes,8:N0} B allocated");
        }
    }
}

/// <summary>
/// What the pipeline (ImPipeline) does around every sendMsg besides the feature: the caller's token, the body, binding,
/// validation, the envelope and the request log line, each with the app's own code and settings.
/// </summary>
[MemoryDiagnoser]
public class RequestPathBenchmarks
{
    static readonly byte[] Body = JsonSerializer.SerializeToUtf8Bytes(new
    {
        to_uid = Ids.New(), appId = ImClient.AppId, type = "text", body = "bench message: the quick brown fox jumps over the lazy dog",
        client_msg_id = "12.3456", client_create_time = 1_700_000_000_000,
    });

    TokenService tokens = null!;
    string token = "";
    JsonElement body;
    SendMsgRequest request = null!;
    IValidator<SendMsgRequest> validator = null!;
    DefaultHttpContext http = null!;
    RequestBody.Raw raw = null!;
    IResult envelope = null!;
    JsonLineLoggerProvider logLines = null!;
    ILogger log = null!;

    [GlobalSetup]
    public void Setup()
    {
        tokens = new TokenService(new AuthOptions { TokenSecret = ServerProcess.TokenSecret }, TimeProvider.System);
        token = tokens.Issue(new User { Id = Ids.New(), ExtUid = "ext-a", Role = [] }).Token;
        RequestValidation.Configure();
        validator = new SendMsgRequestValidator();
        http = new DefaultHttpContext();
        http.Request.ContentType = "application/json";
        http.Response.Body = Stream.Null;
        raw = new RequestBody.Raw(Body, Body.Length);
        body = RequestBody.Parse(http.Request, raw).Match(b => b, e => throw new InvalidOperationException(e.Message));
        request = body.Deserialize<SendMsgRequest>(ImJson.Options)!;
        envelope = UniIm.Ok(new SentMessage(Ids.New(), ConversationIds.Single(Ids.New(), Ids.New()), 42, 1_700_000_000_000));
        // The app's log provider (ImFunctionsApp): JSON lines on stdout, here written to nowhere.
        logLines = new JsonLineLoggerProvider(Stream.Null);
        log = logLines.CreateLogger(typeof(ImPipeline).FullName!);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        logLines.Dispose();
    }

    // The same token on every call, as a client sends it: after the first call this is the remembered check.
    [Benchmark(Description = "caller's token (validate)")]
    public Task<TokenCheck> ValidateToken() => tokens.ValidateAsync(token);

    [Benchmark(Description = "body: parse + UTF-8 checks")]
    public Result<JsonElement> ParseBody() => RequestBody.Parse(http.Request, raw);

    [Benchmark(Description = "body to SendMsgRequest (bind)")]
    public SendMsgRequest Bind() => body.Deserialize<SendMsgRequest>(ImJson.Options)!;

    [Benchmark(Description = "SendMsgRequest validator")]
    public Task<FluentValidation.Results.ValidationResult> Validate() => validator.ValidateAsync(request);

    [Benchmark(Description = "envelope (200, sendMsg data)")]
    public Task Envelope() => envelope.ExecuteAsync(http);

    [Benchmark(Description = "request log line (JSON lines)")]
    public void RequestLogLine()
    {
        using var meter = StoreMeter.Start();
        RequestLog.Write(log, "sendMsg", http, 0, meter.Meter);
    }
}

[MemoryDiagnoser]
public class SendPathBenchmarks
{
    Message message = null!;
    ConversationRow row = null!;
    string rowJson = "";
    string a = "", b = "";

    [GlobalSetup]
    public void Setup()
    {
        (a, b) = (Ids.New(), Ids.New());
        message = new Message
        {
            Id = Ids.New(), ConversationId = ConversationIds.Single(a, b), Seq = 42, ClientMsgId = "c-1", FromUid = a, ToUid = b,
            Appid = ImClient.AppId, Type = "text", Body = JsonSerializer.SerializeToElement("bench message: the quick brown fox jumps over the lazy dog"),
            CreateTime = 1_700_000_000_000, UpdateTime = 1_700_000_000_000, Nickname = "bench",
        };
        row = new ConversationRow { Id = message.ConversationId, UserId = a, FriendUid = b, LastSeq = 42, LastMsg = message, LastMsgNote = "bench" };
        rowJson = JsonSerializer.Serialize(row, ImJson.Options);
    }

    [Benchmark(Description = "push payload (PushEvents.Msg)")]
    public ReadOnlyMemory<byte> PushPayload() => PushEvents.Msg(message);

    [Benchmark(Description = "row to JSON (store write)")]
    public string SerializeRow() => JsonSerializer.Serialize(row, ImJson.Options);

    [Benchmark(Description = "row from JSON (store read)")]
    public ConversationRow DeserializeRow() => JsonSerializer.Deserialize<ConversationRow>(rowJson, ImJson.Options)!;

    [Benchmark(Description = "conversation id (md5)")]
    public string ConversationId() => ConversationIds.Single(a, b);

    [Benchmark(Description = "message id from client_msg_id")]
    public string ClientMessageId() => Ids.ForClientMessage(message.ConversationId, a, "c-123456");

    // On Azure every push call (two per 1:1 message) is signed for its own URL, as the SDK does; locally none is.
    [Benchmark(Description = "Web PubSub REST token (per call)")]
    public string RestToken() => WebPubSubTokens.ForRestRequest(restUri, restKey, DateTimeOffset.UnixEpoch.AddSeconds(1_700_000_000));

    readonly Uri restUri = new($"https://bench.webpubsub.azure.com/api/hubs/im/users/{Ids.New()}/:send?api-version=2024-12-01");
    readonly string restKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
}
