using System.Text.Json.Serialization;
using FluentValidation;
using ImFunctions.Api.Hosting;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Groups;

namespace ImFunctions.Api.Groups;

/// <summary>uni-im's group methods (SPEC §9); the rules live in <see cref="GroupManager"/>.</summary>
public static class GroupsApi
{
    public static ImMethodTable AddGroups(this ImMethodTable methods) => methods
        .Add<ChooseUserIntoGroupRequest>("chooseUserIntoGroup", ChooseUserIntoGroup)
        .Add<GroupIdRequest>("getGroupInfo", (req, call) => Run(call, g => g.GetGroupInfoAsync(call.Me, req.GroupId!, call.Ct)))
        .Add<GetGroupMembersRequest>("getGroupMembers", (req, call) =>
            Run(call, g => g.GetMembersAsync(call.Me, req.GroupId!, req.Cursor, req.Limit ?? GetGroupMembersRequest.DefaultLimit, call.Ct)))
        .Add<GetMyGroupsRequest>("getMyGroups", (req, call) =>
            Run(call, g => g.GetMyGroupsAsync(call.Me, req.Cursor, req.Limit ?? GetMyGroupsRequest.DefaultLimit, call.Ct)))
        .Add<UpdateGroupInfoRequest>("updateGroupInfo", (req, call) => Run(call, g => g.UpdateGroupInfoAsync(call.Me, req.GroupId!,
            new GroupChanges(req.Name, req.AvatarFile, req.Introduction, req.Notification, req.JoinOption, req.MuteAllMembers, req.HistoryVisible),
            call.Ct)))
        .Add<ApplyJoinGroupRequest>("applyJoinGroup", (req, call) => Run(call, g => g.ApplyAsync(call.Me, req.GroupId!, req.Message, call.Ct)))
        .Add<GetJoinGroupRequestsRequest>("getJoinGroupRequests", (req, call) => Run(call, g => g.GetJoinRequestsAsync(call.Me, req.GroupId, call.Ct)))
        .Add<HandleJoinGroupRequestRequest>("handleJoinGroupRequest", (req, call) =>
            Run(call, g => g.HandleJoinRequestAsync(call.Me, req.RequestId!, req.Accept!.Value, call.Ct)))
        .Add<GroupIdRequest>("quitGroup", (req, call) => Run(call, g => g.QuitAsync(call.Me, req.GroupId!, call.Ct)))
        .Add<ExpelGroupMemberRequest>("expelGroupMember", (req, call) =>
            Run(call, g => g.ExpelAsync(call.Me, req.GroupId!, req.UserId!, req.Block ?? false, call.Ct)))
        .Add<GroupIdRequest>("dissolveGroup", (req, call) => Run(call, g => g.DissolveAsync(call.Me, req.GroupId!, call.Ct)))
        .Add<GroupUserRequest>("transferGroupOwner", (req, call) => Run(call, g => g.TransferOwnerAsync(call.Me, req.GroupId!, req.UserId!, call.Ct)))
        .Add<SetGroupAdminRequest>("setGroupAdmin", (req, call) =>
            Run(call, g => g.SetAdminAsync(call.Me, req.GroupId!, req.UserId!, req.Admin!.Value, call.Ct)))
        .Add<MuteGroupMemberRequest>("muteGroupMember", (req, call) => Run(call, g => g.MuteAsync(call.Me, req.GroupId!, req.UserId!, req.Until, call.Ct)))
        .Add<GroupUserRequest>("addToGroupMenberBlackList", (req, call) =>
            Run(call, g => g.SetBlacklistAsync(call.Me, req.GroupId!, req.UserId!, true, call.Ct)))
        .Add<GroupUserRequest>("removeFromGroupBlackList", (req, call) =>
            Run(call, g => g.SetBlacklistAsync(call.Me, req.GroupId!, req.UserId!, false, call.Ct)))
        .Add<GetMsgReadInfoRequest>("getMsgReadInfo", GetMsgReadInfo);

    static async Task<IResult> Run<T>(ImCall call, Func<GroupManager, Task<Result<T>>> action) =>
        (await action(call.Get<GroupManager>())).Match(v => UniIm.Ok(v), UniIm.Error);

    static async Task<IResult> ChooseUserIntoGroup(ChooseUserIntoGroupRequest req, ImCall call)
    {
        var profile = req.GroupInfo is { } info ? new GroupProfile(info.Name, info.Introduction, info.AvatarFile, info.JoinOption) : null;
        var done = await call.Get<GroupManager>().ChooseUserIntoGroupAsync(call.Me, req.GroupId, profile, req.UserIds ?? [],
            req.AdminUids ?? [], call.Ct);
        return done.Match(UniIm.Ok, UniIm.Error);
    }

    static async Task<IResult> GetMsgReadInfo(GetMsgReadInfoRequest req, ImCall call)
    {
        if (GroupIds.FromConversation(req.ConversationId!) is not { } groupId)
            return UniIm.Error(ImError.InvalidParam("conversation_id", "read info is for group conversations; a 1:1 receipt is the peer's read_seq"));
        var info = await call.Get<GroupChat>().GetReadInfoAsync(call.Me, groupId, req.Seq!.Value, call.Ct);
        return info.Match(UniIm.Ok, UniIm.Error);
    }
}

static class GroupRules
{
    public const int IdMax = 64;

    public static IRuleBuilderOptions<T, string?> GroupId<T>(this IRuleBuilder<T, string?> rule) => rule.NotEmpty().MaximumLength(IdMax);
    public static IRuleBuilderOptions<T, string?> UserId<T>(this IRuleBuilder<T, string?> rule) => rule.NotEmpty().MaximumLength(IdMax);

    public static void AvatarFile<T>(this AbstractValidator<T> v, System.Linq.Expressions.Expression<Func<T, AvatarFile?>> avatar)
    {
        v.RuleFor(avatar).Must(a => a is null || ((a.Url?.Length ?? 0) <= 1024 && (a.Name?.Length ?? 0) <= 256 && (a.Extname?.Length ?? 0) <= 32))
            .WithMessage("url ≤ 1024, name ≤ 256, extname ≤ 32 characters");
    }
}

public sealed record GroupIdRequest(string? GroupId);

public sealed class GroupIdRequestValidator : AbstractValidator<GroupIdRequest>
{
    public GroupIdRequestValidator() => RuleFor(r => r.GroupId).GroupId();
}

public sealed record GroupUserRequest(string? GroupId, string? UserId);

public sealed class GroupUserRequestValidator : AbstractValidator<GroupUserRequest>
{
    public GroupUserRequestValidator()
    {
        RuleFor(r => r.GroupId).GroupId();
        RuleFor(r => r.UserId).UserId();
    }
}

public sealed record GroupInfoParams(string? Name, string? Introduction, AvatarFile? AvatarFile, string? JoinOption);

public sealed record ChooseUserIntoGroupRequest(
    string? GroupId, [property: JsonPropertyName("groupInfo")] GroupInfoParams? GroupInfo, string[]? UserIds, string[]? AdminUids);

public sealed class ChooseUserIntoGroupRequestValidator : AbstractValidator<ChooseUserIntoGroupRequest>
{
    public ChooseUserIntoGroupRequestValidator()
    {
        RuleFor(r => r.GroupId).GroupId().When(r => r.GroupId is not null);
        RuleFor(r => r.UserIds).NotNull().When(r => r.GroupId is not null).WithMessage("user_ids is required to add members");
        RuleForEach(r => r.UserIds).UserId();
        RuleForEach(r => r.AdminUids).UserId();
        RuleFor(r => r.GroupInfo!.Name).MaximumLength(30).When(r => r.GroupInfo is not null).OverridePropertyName("groupInfo.name");
        RuleFor(r => r.GroupInfo!.Introduction).MaximumLength(240).When(r => r.GroupInfo is not null).OverridePropertyName("groupInfo.introduction");
        RuleFor(r => r.GroupInfo!.JoinOption).Must(o => o is null || JoinOptions.All.Contains(o)).When(r => r.GroupInfo is not null)
            .OverridePropertyName("groupInfo.join_option").WithMessage($"must be one of {string.Join(", ", JoinOptions.All)}");
        RuleFor(r => r.GroupInfo!.AvatarFile).Must(a => a is null || (a.Url?.Length ?? 0) <= 1024).When(r => r.GroupInfo is not null)
            .OverridePropertyName("groupInfo.avatar_file");
    }
}

public sealed record GetGroupMembersRequest(string? GroupId, string? Cursor, int? Limit)
{
    public const int DefaultLimit = 100, MaxLimit = 500;
}

public sealed class GetGroupMembersRequestValidator : AbstractValidator<GetGroupMembersRequest>
{
    public GetGroupMembersRequestValidator()
    {
        RuleFor(r => r.GroupId).GroupId();
        RuleFor(r => r.Cursor).MaximumLength(GroupRules.IdMax);
        RuleFor(r => r.Limit).InclusiveBetween(1, GetGroupMembersRequest.MaxLimit);
    }
}

public sealed record GetMyGroupsRequest(string? Cursor, int? Limit)
{
    public const int DefaultLimit = 100, MaxLimit = 500;
}

public sealed class GetMyGroupsRequestValidator : AbstractValidator<GetMyGroupsRequest>
{
    public GetMyGroupsRequestValidator()
    {
        RuleFor(r => r.Cursor).MaximumLength(GroupRules.IdMax);
        RuleFor(r => r.Limit).InclusiveBetween(1, GetMyGroupsRequest.MaxLimit);
    }
}

public sealed record UpdateGroupInfoRequest(string? GroupId, string? Name, AvatarFile? AvatarFile, string? Introduction, string? Notification,
    string? JoinOption, bool? MuteAllMembers, bool? HistoryVisible);

public sealed class UpdateGroupInfoRequestValidator : AbstractValidator<UpdateGroupInfoRequest>
{
    public UpdateGroupInfoRequestValidator()
    {
        RuleFor(r => r.GroupId).GroupId();
        RuleFor(r => r.Name).NotEmpty().MaximumLength(30).When(r => r.Name is not null);
        RuleFor(r => r.Introduction).MaximumLength(240);
        RuleFor(r => r.Notification).MaximumLength(2000);
        RuleFor(r => r.JoinOption).Must(o => o is null || JoinOptions.All.Contains(o)).WithMessage($"must be one of {string.Join(", ", JoinOptions.All)}");
        this.AvatarFile(r => r.AvatarFile);
        RuleFor(r => r).Must(r => r.Name is not null || r.AvatarFile is not null || r.Introduction is not null || r.Notification is not null
                || r.JoinOption is not null || r.MuteAllMembers is not null || r.HistoryVisible is not null)
            .OverridePropertyName("body").WithMessage("nothing to update");
    }
}

public sealed record ApplyJoinGroupRequest(string? GroupId, string? Message);

public sealed class ApplyJoinGroupRequestValidator : AbstractValidator<ApplyJoinGroupRequest>
{
    public ApplyJoinGroupRequestValidator()
    {
        RuleFor(r => r.GroupId).GroupId();
        RuleFor(r => r.Message).MaximumLength(200);
    }
}

public sealed record GetJoinGroupRequestsRequest(string? GroupId);

public sealed class GetJoinGroupRequestsRequestValidator : AbstractValidator<GetJoinGroupRequestsRequest>
{
    public GetJoinGroupRequestsRequestValidator() => RuleFor(r => r.GroupId).GroupId().When(r => r.GroupId is not null);
}

public sealed record HandleJoinGroupRequestRequest(string? RequestId, bool? Accept);

public sealed class HandleJoinGroupRequestRequestValidator : AbstractValidator<HandleJoinGroupRequestRequest>
{
    public HandleJoinGroupRequestRequestValidator()
    {
        RuleFor(r => r.RequestId).NotEmpty().MaximumLength(2 * GroupRules.IdMax + 1);
        RuleFor(r => r.Accept).NotNull();
    }
}

public sealed record ExpelGroupMemberRequest(string? GroupId, string? UserId, bool? Block);

public sealed class ExpelGroupMemberRequestValidator : AbstractValidator<ExpelGroupMemberRequest>
{
    public ExpelGroupMemberRequestValidator()
    {
        RuleFor(r => r.GroupId).GroupId();
        RuleFor(r => r.UserId).UserId();
    }
}

public sealed record SetGroupAdminRequest(string? GroupId, string? UserId, bool? Admin);

public sealed class SetGroupAdminRequestValidator : AbstractValidator<SetGroupAdminRequest>
{
    public SetGroupAdminRequestValidator()
    {
        RuleFor(r => r.GroupId).GroupId();
        RuleFor(r => r.UserId).UserId();
        RuleFor(r => r.Admin).NotNull();
    }
}

/// <param name="Until">Epoch ms until which the member is muted; null lifts the mute.</param>
public sealed record MuteGroupMemberRequest(string? GroupId, string? UserId, long? Until);

public sealed class MuteGroupMemberRequestValidator : AbstractValidator<MuteGroupMemberRequest>
{
    public MuteGroupMemberRequestValidator()
    {
        RuleFor(r => r.GroupId).GroupId();
        RuleFor(r => r.UserId).UserId();
        RuleFor(r => r.Until).GreaterThan(0);
    }
}

public sealed record GetMsgReadInfoRequest(string? ConversationId, long? Seq);

public sealed class GetMsgReadInfoRequestValidator : AbstractValidator<GetMsgReadInfoRequest>
{
    public GetMsgReadInfoRequestValidator()
    {
        RuleFor(r => r.ConversationId).NotEmpty().MaximumLength(128);
        RuleFor(r => r.Seq).NotNull().GreaterThan(0);
    }
}
