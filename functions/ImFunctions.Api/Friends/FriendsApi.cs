using FluentValidation;
using ImFunctions.Api.Hosting;
using ImFunctions.Core.Friends;

namespace ImFunctions.Api.Friends;

/// <summary>Friends and invites (uni-im's methods and clientDB writes, as checked calls) and blocks (beyond uni-im).</summary>
public static class FriendsApi
{
    public static ImMethodTable AddFriends(this ImMethodTable methods) => methods
        .Add<AddFriendInviteRequest>("addFriendInvite", AddFriendInvite)
        .Add<GetFriendInvitesRequest>("getFriendInvites", GetFriendInvites)
        .Add<FriendInviteRequest>("acceptFriendInvite", (req, call) => Handle(req, call, accept: true))
        .Add<FriendInviteRequest>("rejectFriendInvite", (req, call) => Handle(req, call, accept: false))
        .Add<DeleteFriendRequest>("deleteFriend", DeleteFriend)
        .Add<ListPageRequest>("getFriendList", GetFriendList)
        .Add<SetFriendRemarkRequest>("setFriendRemark", SetFriendRemark)
        .Add<UserIdRequest>("blockUser", BlockUser)
        .Add<UserIdRequest>("unblockUser", UnblockUser)
        .Add<ListPageRequest>("getBlockList", GetBlockList);

    static async Task<IResult> AddFriendInvite(AddFriendInviteRequest req, ImCall call) =>
        (await call.Get<FriendBook>().InviteAsync(call.Me, req.ToUid!, req.Message, call.Ct)).Match(UniIm.Ok, UniIm.Error);

    static async Task<IResult> GetFriendInvites(GetFriendInvitesRequest req, ImCall call) =>
        (await call.Get<FriendBook>().ListInvitesAsync(call.Me, req.Box != "sent", req.Cursor, req.Limit ?? ListPageRequest.DefaultLimit, call.Ct))
        .Match(UniIm.Ok, UniIm.Error);

    static async Task<IResult> Handle(FriendInviteRequest req, ImCall call, bool accept)
    {
        var book = call.Get<FriendBook>();
        var handled = accept ? await book.AcceptAsync(call.Me, req.InviteId!, call.Ct) : await book.RejectAsync(call.Me, req.InviteId!, call.Ct);
        return handled.Match(UniIm.Ok, UniIm.Error);
    }

    static async Task<IResult> DeleteFriend(DeleteFriendRequest req, ImCall call) =>
        (await call.Get<FriendBook>().DeleteAsync(call.Me, req.FriendUid!, call.Ct)).Match(UniIm.Ok, UniIm.Error);

    static async Task<IResult> GetFriendList(ListPageRequest req, ImCall call) =>
        (await call.Get<FriendBook>().ListFriendsAsync(call.Me, req.Cursor, req.Limit ?? ListPageRequest.DefaultLimit, call.Ct))
        .Match(UniIm.Ok, UniIm.Error);

    static async Task<IResult> SetFriendRemark(SetFriendRemarkRequest req, ImCall call) =>
        (await call.Get<FriendBook>().SetRemarkAsync(call.Me, req.FriendUid!, req.Remark!, call.Ct)).Match(UniIm.Ok, UniIm.Error);

    static async Task<IResult> BlockUser(UserIdRequest req, ImCall call) =>
        (await call.Get<Blocks>().BlockAsync(call.Me, req.UserId!, call.Ct)).Match(UniIm.Ok, UniIm.Error);

    static async Task<IResult> UnblockUser(UserIdRequest req, ImCall call) =>
        (await call.Get<Blocks>().UnblockAsync(call.Me, req.UserId!, call.Ct)).Match(UniIm.Ok, UniIm.Error);

    static async Task<IResult> GetBlockList(ListPageRequest req, ImCall call) =>
        (await call.Get<Blocks>().ListAsync(call.Me, req.Cursor, req.Limit ?? ListPageRequest.DefaultLimit, call.Ct)).Match(UniIm.Ok, UniIm.Error);
}

public sealed record AddFriendInviteRequest(string? ToUid, string? Message)
{
    public const int MaxMessage = 200;
}

public sealed class AddFriendInviteRequestValidator : AbstractValidator<AddFriendInviteRequest>
{
    public AddFriendInviteRequestValidator()
    {
        RuleFor(r => r.ToUid).NotEmpty().MaximumLength(64);
        RuleFor(r => r.Message).MaximumLength(AddFriendInviteRequest.MaxMessage);
    }
}

/// <summary>A keyset page: <c>cursor</c> is the <c>next_cursor</c> of the previous page.</summary>
public record ListPageRequest(string? Cursor, int? Limit)
{
    public const int DefaultLimit = 50, MaxCursor = 200;
}

public sealed class ListPageRequestValidator : AbstractValidator<ListPageRequest>
{
    public ListPageRequestValidator()
    {
        RuleFor(r => r.Cursor).NotEmpty().MaximumLength(ListPageRequest.MaxCursor).When(r => r.Cursor is not null);
        RuleFor(r => r.Limit).InclusiveBetween(1, FriendBook.MaxPage);
    }
}

public sealed record GetFriendInvitesRequest(string? Box, string? Cursor, int? Limit);

public sealed class GetFriendInvitesRequestValidator : AbstractValidator<GetFriendInvitesRequest>
{
    public GetFriendInvitesRequestValidator()
    {
        RuleFor(r => r.Box).Must(b => b is null or "received" or "sent").WithMessage("must be \"received\" or \"sent\"");
        RuleFor(r => r.Cursor).NotEmpty().MaximumLength(ListPageRequest.MaxCursor).When(r => r.Cursor is not null);
        RuleFor(r => r.Limit).InclusiveBetween(1, FriendBook.MaxPage);
    }
}

public sealed record FriendInviteRequest(string? InviteId);

public sealed class FriendInviteRequestValidator : AbstractValidator<FriendInviteRequest>
{
    public FriendInviteRequestValidator() => RuleFor(r => r.InviteId).NotEmpty().MaximumLength(64);
}

public sealed record DeleteFriendRequest(string? FriendUid);

public sealed class DeleteFriendRequestValidator : AbstractValidator<DeleteFriendRequest>
{
    public DeleteFriendRequestValidator() => RuleFor(r => r.FriendUid).NotEmpty().MaximumLength(64);
}

public sealed record SetFriendRemarkRequest(string? FriendUid, string? Remark)
{
    public const int MaxRemark = 50;
}

public sealed class SetFriendRemarkRequestValidator : AbstractValidator<SetFriendRemarkRequest>
{
    public SetFriendRemarkRequestValidator()
    {
        RuleFor(r => r.FriendUid).NotEmpty().MaximumLength(64);
        RuleFor(r => r.Remark).NotNull().WithMessage("is required (\"\" clears it)").MaximumLength(SetFriendRemarkRequest.MaxRemark);
    }
}

public sealed record UserIdRequest(string? UserId);

public sealed class UserIdRequestValidator : AbstractValidator<UserIdRequest>
{
    public UserIdRequestValidator() => RuleFor(r => r.UserId).NotEmpty().MaximumLength(64);
}
