using System.Text.Json;
using System.Text.Json.Nodes;
using FluentValidation;
using ImFunctions.Api.Hosting;
using ImFunctions.Core.Accounts;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Groups;
using ImFunctions.Core.Storage;

namespace ImFunctions.Api.Integrations;

/// <summary>
/// Methods only a trusted backend may call, signed and acting as nobody (<see cref="Access.Server"/>): the account
/// owner creates users, speaks as the system and ends sessions, without a user's token.
/// </summary>
public static class ServerApi
{
    public static ImMethodTable AddServerMethods(this ImMethodTable methods) => methods
        .Add<UpsertUserRequest>("upsertUser", UpsertUser, Access.Server)
        .Add<SendSystemMsgRequest>("sendSystemMsg", SendSystemMsg, Access.Server)
        .Add<RevokeUserTokensRequest>("revokeUserTokens", RevokeUserTokens, Access.Server);

    /// <summary>
    /// loginWithJWT's upsert without the JWT: create by ext uid, or update the fields given. The record is changed, not
    /// rebuilt, so what other features keep on it (token version, revoked sessions) stays.
    /// </summary>
    static async Task<IResult> UpsertUser(UpsertUserRequest req, ImCall call)
    {
        var (store, users, now, ct) = (call.Get<IImStore>(), call.Get<UserDirectory>(), call.Get<TimeProvider>().GetUtcNow().ToUnixTimeMilliseconds(), call.Ct);
        var uid = await store.FindUidByExtUidAsync(req.ExtUid!, ct) ?? await store.BindExtUidAsync(req.ExtUid!, Ids.New(), ct);
        var existing = await store.GetUserAsync(uid, ct);
        if (existing?.Deletion is not null)
        {
            // As loginWithJWT: a deletion that stopped half-way is finished, never undone; the ext uid starts a new user.
            await call.Get<AccountDeletion>().DeleteAsync(existing, ct);
            uid = await store.BindExtUidAsync(req.ExtUid!, Ids.New(), ct);
            existing = null;
        }
        var user = existing ?? new User { Id = uid, ExtUid = req.ExtUid!, RegisterDate = now };
        await users.SaveAsync(user with
        {
            Nickname = req.Nickname ?? user.Nickname,
            AvatarFile = req.AvatarFile ?? user.AvatarFile,
            Gender = req.Gender ?? user.Gender,
            Role = req.Role ?? user.Role,
            UpdateTime = now,
        }, ct);
        return UniIm.Ok(new { uid });
    }

    /// <summary>A <c>system</c> message (<c>from_uid: "system"</c>, body <c>{action, ...}</c>) through the same path as every send.</summary>
    static async Task<IResult> SendSystemMsg(SendSystemMsgRequest req, ImCall call)
    {
        var message = new SendMessage(req.ToUid, req.GroupId, req.AppId ?? "__SYSTEM__", "system", req.SystemBody(), req.ClientMsgId);
        var sent = req.GroupId is null
            ? await call.Get<Messenger>().SendSystemAsync(message, call.Ct)
            : await call.Get<GroupChat>().SendSystemAsync(message, call.Ct);
        return sent.Match(UniIm.Ok, UniIm.Error);
    }

    /// <summary>Every token the user holds stops working (their token version moves on); they log in again.</summary>
    static async Task<IResult> RevokeUserTokens(RevokeUserTokensRequest req, ImCall call)
    {
        var users = call.Get<UserDirectory>();
        var user = await call.Get<IImStore>().GetUserAsync(req.UserId!, call.Ct);
        if (user is null) return UniIm.Error(ImError.NotFound($"user_id: user '{req.UserId}' does not exist"));
        var now = call.Get<TimeProvider>().GetUtcNow().ToUnixTimeMilliseconds();
        await users.SaveAsync(user with { TokenVersion = user.TokenVersion + 1, UpdateTime = now }, call.Ct);
        return UniIm.Ok(new { user_id = user.Id, token_version = user.TokenVersion + 1 });
    }
}

public sealed record UpsertUserRequest(string? ExtUid, string? Nickname, AvatarFile? AvatarFile, int? Gender, string[]? Role);

public sealed class UpsertUserRequestValidator : AbstractValidator<UpsertUserRequest>
{
    public UpsertUserRequestValidator()
    {
        RuleFor(r => r.ExtUid).NotEmpty().MaximumLength(128);
        RuleFor(r => r.Nickname).MaximumLength(64);
        RuleFor(r => r.Gender).InclusiveBetween(0, 2);
        RuleFor(r => r.Role).Must(roles => roles!.Length <= 16).WithMessage("must hold at most 16 roles").When(r => r.Role is not null);
        RuleForEach(r => r.Role).NotEmpty().MaximumLength(64);
    }
}

/// <param name="Body">An object (its fields go into the message body beside <c>action</c>) or a string (the body's <c>text</c>).</param>
/// <param name="Action">uni-im's system action name; <c>notice</c> when absent.</param>
public sealed record SendSystemMsgRequest(
    string? ToUid, string? GroupId, JsonElement Body, string? Action, string? ClientMsgId,
    [property: System.Text.Json.Serialization.JsonPropertyName("appId")] string? AppId)
{
    public const int MaxBodyBytes = 8192;

    public JsonElement SystemBody()
    {
        var body = Body.ValueKind == JsonValueKind.Object ? JsonObject.Create(Body)! : new JsonObject { ["text"] = Body.GetString() };
        body["action"] = Action ?? "notice";
        return JsonSerializer.SerializeToElement(body, ImJson.Options);
    }
}

public sealed class SendSystemMsgRequestValidator : AbstractValidator<SendSystemMsgRequest>
{
    public SendSystemMsgRequestValidator()
    {
        RuleFor(r => r.ToUid).NotEmpty().When(r => r.GroupId is null).WithMessage("to_uid or group_id is required");
        RuleFor(r => r.GroupId).Null().When(r => r.ToUid is not null).WithMessage("give to_uid or group_id, not both");
        RuleFor(r => r.ToUid).MaximumLength(64);
        RuleFor(r => r.GroupId).NotEmpty().MaximumLength(64).When(r => r.GroupId is not null);
        RuleFor(r => r.Body).Must(b => b.ValueKind == JsonValueKind.Object || (b.ValueKind == JsonValueKind.String && b.GetString()!.Trim().Length > 0))
            .WithMessage("must be an object or a non-empty string")
            .Must(b => JsonSerializer.SerializeToUtf8Bytes(b, ImJson.Options).Length <= SendSystemMsgRequest.MaxBodyBytes)
            .WithMessage($"is larger than {SendSystemMsgRequest.MaxBodyBytes} bytes")
            .Must(b => b.ValueKind != JsonValueKind.Object || b.EnumerateObject().Select(p => p.Name).Distinct().Count() == b.GetPropertyCount())
            .WithMessage("names a field twice");
        RuleFor(r => r.Action).NotEmpty().MaximumLength(64).When(r => r.Action is not null);
        RuleFor(r => r.ClientMsgId).NotEmpty().MaximumLength(64).When(r => r.ClientMsgId is not null);
        RuleFor(r => r.AppId).NotEmpty().MaximumLength(64).When(r => r.AppId is not null);
    }
}

public sealed record RevokeUserTokensRequest(string? UserId);

public sealed class RevokeUserTokensRequestValidator : AbstractValidator<RevokeUserTokensRequest>
{
    public RevokeUserTokensRequestValidator() => RuleFor(r => r.UserId).NotEmpty().MaximumLength(64);
}
