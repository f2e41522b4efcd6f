using FluentValidation;
using ImFunctions.Api.Auth;
using ImFunctions.Api.Hosting;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Storage;

namespace ImFunctions.Api.Users;

public static class UsersApi
{
    public static RouteGroupBuilder MapUsers(this RouteGroupBuilder api)
    {
        api.MapPost("/getUserInfo", GetUserInfo).WithValidation<GetUserInfoRequest>();
        api.MapPost("/getUserIdByExtUid", GetUserIdByExtUid).WithValidation<GetUserIdByExtUidRequest>();
        return api;
    }

    /// <summary>Public profiles only: never mobile, email or roles.</summary>
    static async Task<IResult> GetUserInfo(GetUserInfoRequest req, CurrentUser me, UserDirectory users, CancellationToken ct)
    {
        var found = await users.GetManyAsync(req.UserIds!, ct);
        return UniIm.Ok(req.UserIds!.Distinct().Where(found.ContainsKey).Select(id => found[id].ToPublicProfile()).ToList());
    }

    static async Task<IResult> GetUserIdByExtUid(GetUserIdByExtUidRequest req, CurrentUser me, IImStore store, CancellationToken ct)
    {
        var uid = await store.FindUidByExtUidAsync(req.ExtUid!, ct);
        return uid is null
            ? UniIm.Error(ImError.NotFound($"ext_uid: no user has ext_uid '{req.ExtUid}'"))
            : UniIm.Ok(new { uid });
    }
}

public sealed record GetUserInfoRequest(string[]? UserIds)
{
    public const int MaxIds = 100;
}

public sealed class GetUserInfoRequestValidator : AbstractValidator<GetUserInfoRequest>
{
    public GetUserInfoRequestValidator()
    {
        RuleFor(r => r.UserIds).NotEmpty().Must(ids => ids!.Length <= GetUserInfoRequest.MaxIds)
            .WithMessage($"must hold 1 to {GetUserInfoRequest.MaxIds} ids");
        RuleForEach(r => r.UserIds).NotEmpty().MaximumLength(64);
    }
}

public sealed record GetUserIdByExtUidRequest(string? ExtUid);

public sealed class GetUserIdByExtUidRequestValidator : AbstractValidator<GetUserIdByExtUidRequest>
{
    public GetUserIdByExtUidRequestValidator() => RuleFor(r => r.ExtUid).NotEmpty().MaximumLength(128);
}
