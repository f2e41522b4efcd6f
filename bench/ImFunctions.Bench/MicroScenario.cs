using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using ImFunctions.Api.Auth;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Push;

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
        var summary = BenchmarkRunner.Run<SendPathBenchmarks>(config);
        foreach (var report in summary.Reports)
        {
            if (report.ResultStatistics is null) continue;
            var result = new MicroResult(report.BenchmarkCase.Descriptor.WorkloadMethodDisplayInfo.Trim('\''), report.ResultStatistics.Mean,
                report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase) ?? 0);
            bench.Report.Micro.Add(result);
            bench.Log($"  micro     {result.Name,-36} {result.MeanNs / 1000,9:0.00} µs  {result.AllocatedBytes,8:N0} B allocated");
        }
    }
}

[MemoryDiagnoser]
public class SendPathBenchmarks
{
    TokenService tokens = null!;
    string token = "";
    Message message = null!;
    ConversationRow row = null!;
    string rowJson = "";
    string a = "", b = "";

    [GlobalSetup]
    public void Setup()
    {
        tokens = new TokenService(new AuthOptions { TokenSecret = ServerProcess.TokenSecret }, TimeProvider.System);
        (a, b) = (Ids.New(), Ids.New());
        token = tokens.Issue(new User { Id = a, ExtUid = "ext-a", Role = [] }).Token;
        message = new Message
        {
            Id = Ids.New(), ConversationId = ConversationIds.Single(a, b), Seq = 42, ClientMsgId = "c-1", FromUid = a, ToUid = b,
            Appid = ImClient.AppId, Type = "text", Body = JsonSerializer.SerializeToElement("bench message: the quick brown fox jumps over the lazy dog"),
            CreateTime = 1_700_000_000_000, UpdateTime = 1_700_000_000_000, Nickname = "bench",
        };
        row = new ConversationRow { Id = message.ConversationId, UserId = a, FriendUid = b, LastSeq = 42, LastMsg = message, LastMsgNote = "bench" };
        rowJson = JsonSerializer.Serialize(row, ImJson.Options);
    }

    [Benchmark(Description = "validate caller's token")]
    public Task<TokenCheck> ValidateToken() => tokens.ValidateAsync(token);

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
}
