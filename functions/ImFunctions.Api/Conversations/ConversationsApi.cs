using System.Text.Json.Serialization;
using FluentValidation;
using ImFunctions.Api.Hosting;
using ImFunctions.Core.Conversations;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Storage;

namespace ImFunctions.Api.Conversations;

public static class ConversationsApi
{
    public static ImMethodTable AddConversations(this ImMethodTable methods) => methods
        .Add<GetConversationListRequest>("getConversationList", GetConversationList)
        .Add<ClearUnreadCountRequest>("clearUnreadCount", ClearUnreadCount);

    static async Task<IResult> GetConversationList(GetConversationListRequest req, ImCall call)
    {
        var limit = req.Limit ?? GetConversationListRequest.DefaultLimit;
        if (req.ConversationId is null)   // the list: filters, pinned first, keyset cursor, hidden rows left out
            return (await call.Get<ConversationSettings>().ListAsync(call.Me, new ConversationListRequest(limit, (req.Page ?? 0) * limit,
                req.MaxUpdateTime, req.Cursor, req.Type, req.DistinguishPinned ?? false), call.Ct)).Match(UniIm.Ok, UniIm.Error);
        var page = new ConversationPage(limit, (req.Page ?? 0) * limit, req.MaxUpdateTime);
        var list = await call.Get<Messenger>().ListConversationsAsync(call.Me, req.ConversationId, page, call.Ct);
        return list.Match(UniIm.Ok, UniIm.Error);
    }

    static async Task<IResult> ClearUnreadCount(ClearUnreadCountRequest req, ImCall call)
    {
        var cursors = await call.Get<Messenger>().MarkReadAsync(call.Me, req.ConversationId, req.ReadSeq, call.Ct);
        return cursors.Match(UniIm.Ok, UniIm.Error);
    }
}

public sealed record GetConversationListRequest(
    int? Limit, int? Page, [property: JsonPropertyName("maxUpdateTime")] long? MaxUpdateTime, string? ConversationId,
    string? Type = null, [property: JsonPropertyName("distinguishPinned")] bool? DistinguishPinned = null, string? Cursor = null)
{
    // uni-im 1.x returns up to 500 rows by default.
    public const int DefaultLimit = 500, MaxLimit = 500;
}

public sealed class GetConversationListRequestValidator : AbstractValidator<GetConversationListRequest>
{
    public GetConversationListRequestValidator()
    {
        RuleFor(r => r.Limit).InclusiveBetween(1, GetConversationListRequest.MaxLimit);
        RuleFor(r => r.Page).InclusiveBetween(0, 10_000);
        RuleFor(r => r.Page).Null().When(r => r.MaxUpdateTime is not null).WithMessage("give page or maxUpdateTime, not both");
        RuleFor(r => r.MaxUpdateTime).GreaterThan(0);
        RuleFor(r => r.ConversationId).NotEmpty().MaximumLength(128).When(r => r.ConversationId is not null);
        RuleFor(r => r.Type).Must(t => t is null || ConversationSettings.Filters.ContainsKey(t))
            .WithMessage($"must be one of {string.Join(", ", ConversationSettings.Filters.Keys)}");
        RuleFor(r => r.Cursor).NotEmpty().MaximumLength(200).When(r => r.Cursor is not null);
        RuleFor(r => r.Cursor).Null().When(r => r.Page is not null || r.MaxUpdateTime is not null)
            .WithMessage("give cursor, page or maxUpdateTime, not two of them");
        RuleFor(r => r.DistinguishPinned).Must(d => d != true).When(r => r.Page is not null || r.MaxUpdateTime is not null)
            .WithMessage("pages with cursor (pinned rows come first), not with page or maxUpdateTime");
    }
}

public sealed record ClearUnreadCountRequest(string? ConversationId, long? ReadSeq);

public sealed class ClearUnreadCountRequestValidator : AbstractValidator<ClearUnreadCountRequest>
{
    public ClearUnreadCountRequestValidator()
    {
        RuleFor(r => r.ConversationId).NotEmpty().MaximumLength(128).When(r => r.ConversationId is not null);
        RuleFor(r => r.ReadSeq).GreaterThanOrEqualTo(0);
        RuleFor(r => r.ReadSeq).Null().When(r => r.ConversationId is null).WithMessage("read_seq needs a conversation_id");
    }
}
