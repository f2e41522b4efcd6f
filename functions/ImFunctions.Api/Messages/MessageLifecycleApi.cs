using System.Text.Json;
using FluentValidation;
using ImFunctions.Api.Hosting;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Messages;

namespace ImFunctions.Api.Messages;

/// <summary>After a message is sent: revoke, edit, clear a mention; and finding messages and conversations again.</summary>
public static class MessageLifecycleApi
{
    public static ImMethodTable AddMessageLifecycle(this ImMethodTable methods) => methods
        .Add<RevokeMsgRequest>("revokeMsg", RevokeMsg)
        .Add<EditMsgRequest>("editMsg", EditMsg)
        .Add<RemoveRemindMsgIdRequest>("removeRemindMsgId", RemoveRemindMsgId)
        .Add<SearchMessagesRequest>("searchMessages", SearchMessages)
        .Add<SearchConversationsRequest>("searchConversations", SearchConversations);

    static async Task<IResult> RevokeMsg(RevokeMsgRequest req, ImCall call)
    {
        var revoked = await call.Get<MessageLifecycle>().RevokeAsync(call.Me, req.ConversationId!, req.MsgId!, call.Ct);
        return revoked.Match(UniIm.Ok, UniIm.Error);
    }

    /// <summary>uni-im 3.x revokes through sendMsg {type: "revoke_msg", body: {msg_id}}; the conversation comes from to_uid.</summary>
    internal static async Task<IResult> RevokeThroughSendMsg(SendMsgRequest req, ImCall call)
    {
        if (req.Body.ValueKind != JsonValueKind.Object || !req.Body.TryGetProperty("msg_id", out var id)
            || id.ValueKind != JsonValueKind.String || id.GetString()!.Length is 0 or > 64)
            return UniIm.Error(ImError.InvalidParam("body", "must be {msg_id} for a revoke_msg"));
        var conversationId = req.GroupId is { } groupId ? "group_" + groupId : ConversationIds.Single(call.Me.Id, req.ToUid!);
        var revoked = await call.Get<MessageLifecycle>().RevokeAsync(call.Me, conversationId, id.GetString()!, call.Ct);
        return revoked.Match(UniIm.Ok, UniIm.Error);
    }

    static async Task<IResult> EditMsg(EditMsgRequest req, ImCall call)
    {
        var edited = await call.Get<MessageLifecycle>().EditAsync(call.Me, req.ConversationId!, req.MsgId!, req.Body, call.Ct);
        return edited.Match(UniIm.Ok, UniIm.Error);
    }

    static async Task<IResult> RemoveRemindMsgId(RemoveRemindMsgIdRequest req, ImCall call)
    {
        var changed = await call.Get<MessageLifecycle>().ForgetMentionAsync(call.Me, req.ConversationId!, req.MsgId!, call.Ct);
        return changed.Match(count => UniIm.Ok(count), UniIm.Error);
    }

    static async Task<IResult> SearchMessages(SearchMessagesRequest req, ImCall call)
    {
        var page = await call.Get<MessageSearch>().SearchMessagesAsync(call.Me, req.Keyword!, req.ConversationId, req.Before,
            req.Limit ?? SearchMessagesRequest.DefaultLimit, call.Ct);
        return page.Match(UniIm.Ok, UniIm.Error);
    }

    static async Task<IResult> SearchConversations(SearchConversationsRequest req, ImCall call)
    {
        var found = await call.Get<MessageSearch>().SearchConversationsAsync(call.Me, req.Keyword!,
            req.Limit ?? SearchConversationsRequest.DefaultLimit, call.Ct);
        return found.Match(UniIm.Ok, UniIm.Error);
    }
}

/// <param name="ConversationId">Required: messages are stored by conversation, so it finds the message in one read.</param>
public sealed record RevokeMsgRequest(string? MsgId, string? ConversationId);

public sealed class RevokeMsgRequestValidator : AbstractValidator<RevokeMsgRequest>
{
    public RevokeMsgRequestValidator()
    {
        RuleFor(r => r.MsgId).NotEmpty().MaximumLength(64);
        RuleFor(r => r.ConversationId).NotEmpty().MaximumLength(128);
    }
}

public sealed record EditMsgRequest(string? MsgId, string? ConversationId, JsonElement Body);

public sealed class EditMsgRequestValidator : AbstractValidator<EditMsgRequest>
{
    public EditMsgRequestValidator()
    {
        RuleFor(r => r.MsgId).NotEmpty().MaximumLength(64);
        RuleFor(r => r.ConversationId).NotEmpty().MaximumLength(128);
        RuleFor(r => r.Body).Must(b => b.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null)).WithMessage("body is required");
    }
}

public sealed record RemoveRemindMsgIdRequest(string? ConversationId, string? MsgId);

public sealed class RemoveRemindMsgIdRequestValidator : AbstractValidator<RemoveRemindMsgIdRequest>
{
    public RemoveRemindMsgIdRequestValidator()
    {
        RuleFor(r => r.ConversationId).NotEmpty().MaximumLength(128);
        RuleFor(r => r.MsgId).NotEmpty().MaximumLength(64);
    }
}

public sealed record SearchMessagesRequest(string? Keyword, string? ConversationId, long? Before, int? Limit)
{
    public const int DefaultLimit = 30, MaxLimit = 100, MaxKeywordLength = 100;
}

public sealed class SearchMessagesRequestValidator : AbstractValidator<SearchMessagesRequest>
{
    public SearchMessagesRequestValidator()
    {
        RuleFor(r => r.Keyword).Must(k => k is not null && k.Trim().Length > 0).WithMessage("keyword is required")
            .MaximumLength(SearchMessagesRequest.MaxKeywordLength);
        RuleFor(r => r.ConversationId).NotEmpty().MaximumLength(128).When(r => r.ConversationId is not null);
        RuleFor(r => r.Before).GreaterThan(0);
        RuleFor(r => r.Limit).InclusiveBetween(1, SearchMessagesRequest.MaxLimit);
    }
}

public sealed record SearchConversationsRequest(string? Keyword, int? Limit)
{
    public const int DefaultLimit = 30, MaxLimit = 100;
}

public sealed class SearchConversationsRequestValidator : AbstractValidator<SearchConversationsRequest>
{
    public SearchConversationsRequestValidator()
    {
        RuleFor(r => r.Keyword).Must(k => k is not null && k.Trim().Length > 0).WithMessage("keyword is required").MaximumLength(64);
        RuleFor(r => r.Limit).InclusiveBetween(1, SearchConversationsRequest.MaxLimit);
    }
}
