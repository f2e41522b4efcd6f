using FluentValidation;
using ImFunctions.Api.Hosting;
using ImFunctions.Core.Conversations;

namespace ImFunctions.Api.Conversations;

/// <summary>The caller's own settings on a conversation (uni-im's clientDB updates), and the unread badge.</summary>
public static class ConversationSettingsApi
{
    public static ImMethodTable AddConversationSettings(this ImMethodTable methods) => methods
        .Add<SetConversationRequest>("setConversation", SetConversation)
        .Add<MarkConversationUnreadRequest>("markConversationUnread", MarkConversationUnread)
        .Add<GetUnreadCountRequest>("getUnreadCount", GetUnreadCount);

    static async Task<IResult> SetConversation(SetConversationRequest req, ImCall call) =>
        (await call.Get<ConversationSettings>().SetAsync(call.Me, req.ConversationId!,
            new SettingsChange(req.Pinned, req.Mute, req.Hidden, req.IsStar), call.Ct)).Match(UniIm.Ok, UniIm.Error);

    static async Task<IResult> MarkConversationUnread(MarkConversationUnreadRequest req, ImCall call) =>
        (await call.Get<ConversationSettings>().MarkUnreadAsync(call.Me, req.ConversationId!, call.Ct)).Match(UniIm.Ok, UniIm.Error);

    static async Task<IResult> GetUnreadCount(GetUnreadCountRequest req, ImCall call) =>
        UniIm.Ok(await call.Get<ConversationSettings>().UnreadAsync(call.Me, call.Ct));
}

public sealed record SetConversationRequest(string? ConversationId, bool? Pinned, bool? Mute, bool? Hidden, bool? IsStar);

public sealed class SetConversationRequestValidator : AbstractValidator<SetConversationRequest>
{
    public SetConversationRequestValidator()
    {
        RuleFor(r => r.ConversationId).NotEmpty().MaximumLength(128);
        RuleFor(r => r.Pinned).NotNull().When(r => r is { Mute: null, Hidden: null, IsStar: null })
            .WithMessage("give at least one of pinned, mute, hidden, is_star");
    }
}

public sealed record MarkConversationUnreadRequest(string? ConversationId);

public sealed class MarkConversationUnreadRequestValidator : AbstractValidator<MarkConversationUnreadRequest>
{
    public MarkConversationUnreadRequestValidator() => RuleFor(r => r.ConversationId).NotEmpty().MaximumLength(128);
}

public sealed record GetUnreadCountRequest;
