using System.Text.Json;
using System.Text.Json.Serialization;
using FluentValidation;
using ImFunctions.Api.Hosting;
using ImFunctions.Core.Accounts;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Groups;
using ImFunctions.Core.Storage;

namespace ImFunctions.Api.Messages;

public static class MessagesApi
{
    public static ImMethodTable AddMessages(this ImMethodTable methods) => methods
        .Add<SendMsgRequest>("sendMsg", SendMsg)
        .Add<GetMsgListRequest>("getMsgList", GetMsgList);

    static async Task<IResult> SendMsg(SendMsgRequest req, ImCall call)
    {
        if (req.Type == "revoke_msg") return await MessageLifecycleApi.RevokeThroughSendMsg(req, call);
        var request = req.ToSendMessage();
        // Recorded only when the operator says so (UniIm:RecordIp); the same address the rate limiter charges.
        if (call.Get<AccountOptions>().RecordIp) request = request with { FromIp = call.Get<CallerLimits>().ClientAddress(call.Http) };
        var sent = req.GroupId is null
            ? await call.Get<Messenger>().SendAsync(call.Me, request, call.Ct)
            : await call.Get<GroupChat>().SendAsync(call.Me, request, call.Ct);
        return sent.Match(UniIm.Ok, UniIm.Error);
    }

    static async Task<IResult> GetMsgList(GetMsgListRequest req, ImCall call)
    {
        var messenger = call.Get<Messenger>();
        var limit = req.Limit ?? GetMsgListRequest.DefaultLimit;
        var page = req.ConversationIds is { } ids
            ? await messenger.GetUpdatesAsync(call.Me, ids, req.MinUpdateTime ?? 0, limit, call.Ct)
            : await messenger.GetHistoryAsync(call.Me, req.ConversationId!, new SeqWindow(req.BeforeSeq, req.AfterSeq), limit, call.Ct);
        return page.Match(UniIm.Ok, UniIm.Error);
    }
}

public sealed record SendMsgRequest(
    string? ToUid, string? GroupId, [property: JsonPropertyName("appId")] string? AppId, string? Type, JsonElement Body,
    string? ClientMsgId, string? AboutMsgId, long? ClientCreateTime, ChatSource? ChatSource = null, string[]? CallUid = null)
{
    public SendMessage ToSendMessage() =>
        new(ToUid, GroupId, AppId!, Type!, Body, ClientMsgId, AboutMsgId, ClientCreateTime, ChatSource?.GroupId, CallUid);
}

/// <summary>Where a 1:1 chat was opened from (grade 300: a group's member list); the server checks it.</summary>
public sealed record ChatSource(string? GroupId);

public sealed class SendMsgRequestValidator : AbstractValidator<SendMsgRequest>
{
    public SendMsgRequestValidator()
    {
        RuleFor(r => r.ToUid).NotEmpty().When(r => r.GroupId is null).WithMessage("to_uid or group_id is required");
        RuleFor(r => r.GroupId).Null().When(r => r.ToUid is not null).WithMessage("give to_uid or group_id, not both");
        RuleFor(r => r.ToUid).MaximumLength(64);
        RuleFor(r => r.GroupId).NotEmpty().MaximumLength(64).When(r => r.GroupId is not null);
        RuleFor(r => r.AppId).NotEmpty().MaximumLength(64);
        RuleFor(r => r.Type).NotEmpty().MaximumLength(32);
        RuleFor(r => r.ClientMsgId).NotEmpty().MaximumLength(64).When(r => r.ClientMsgId is not null);
        RuleFor(r => r.AboutMsgId).MaximumLength(64);
        RuleFor(r => r.ClientCreateTime).GreaterThanOrEqualTo(0);
        RuleFor(r => r.ChatSource!.GroupId).NotEmpty().MaximumLength(64).When(r => r.ChatSource is not null)
            .OverridePropertyName("chat_source.group_id");
        RuleFor(r => r.CallUid).Must(uids => uids!.Length <= 100).WithMessage("call_uid must hold at most 100 uids")
            .When(r => r.CallUid is not null);
        RuleForEach(r => r.CallUid).NotEmpty().MaximumLength(64);
    }
}

public sealed record GetMsgListRequest(
    string? ConversationId, long? BeforeSeq, long? AfterSeq, int? Limit,
    string[]? ConversationIds, [property: JsonPropertyName("minUpdateTime")] long? MinUpdateTime)
{
    public const int DefaultLimit = 30, MaxLimit = 100, MaxConversations = 50;
}

public sealed class GetMsgListRequestValidator : AbstractValidator<GetMsgListRequest>
{
    public GetMsgListRequestValidator()
    {
        RuleFor(r => r.ConversationId).NotEmpty().When(r => r.ConversationIds is null)
            .WithMessage("conversation_id (or conversation_ids with minUpdateTime) is required");
        RuleFor(r => r.ConversationId).MaximumLength(128);
        RuleFor(r => r.AfterSeq).Null().When(r => r.BeforeSeq is not null).WithMessage("give before_seq or after_seq, not both");
        RuleFor(r => r.BeforeSeq).GreaterThan(0);
        RuleFor(r => r.AfterSeq).GreaterThanOrEqualTo(0);
        RuleFor(r => r.Limit).InclusiveBetween(1, GetMsgListRequest.MaxLimit);
        RuleFor(r => r.ConversationIds).NotEmpty().Must(ids => ids!.Length <= GetMsgListRequest.MaxConversations)
            .WithMessage($"must hold 1 to {GetMsgListRequest.MaxConversations} ids").When(r => r.ConversationIds is not null);
        RuleForEach(r => r.ConversationIds).NotEmpty().MaximumLength(128);
        RuleFor(r => r.MinUpdateTime).GreaterThanOrEqualTo(0);
    }
}
