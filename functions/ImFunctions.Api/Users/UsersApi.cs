using FluentValidation;
using ImFunctions.Api.Hosting;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Storage;

namespace ImFunctions.Api.Users;

public static class UsersApi
{
    public static ImMethodTable AddUsers(this ImMethodTable methods) => methods
        .Add<GetUserInfoRequest>("getUserInfo", GetUserInfo)
        .Add<GetUserIdByExtUidRequest>("getUserIdByExtUid", GetUserIdByExtUid);

    /// <summary>Public profiles only: never mobile, email or roles.</summary>
    static async Task<IResult> GetUserInfo(GetUserInfoRequest req, ImCall call)
    {
        var found = await call.Get<UserDirectory>().GetManyAsync(req.UserIds!, call.Ct);
        return UniIm.Ok(req.UserIds!.Distinct().Where(found.ContainsKey).Select(id => found[id].ToPublicProfile()).ToList());
    }

    static async Task<IResult> GetUserIdByExtUid(GetUserIdByExtUidRequest req, ImCall call)
    {
        var uid = await call.Get<IImStore>().FindUidByExtUidAsync(req.ExtUid!, call.Ct);
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
