using System.Text.Json.Serialization;
using FluentValidation;
using ImFunctions.Api.Hosting;
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
    int? Limit, int? Page, [property: JsonPropertyName("maxUpdateTime")] long? MaxUpdateTime, string? ConversationId)
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
