using System.Text.Json;
using ImFunctions.Api.Hosting;
using ImFunctions.Core.Accounts;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Storage;

namespace ImFunctions.Api.Auth;

public static class AuthApi
{
    public static ImMethodTable AddAuth(this ImMethodTable methods) => methods
        .Add<JsonElement>("loginWithJWT", LoginWithJwt, Access.Anonymous);

    /// <summary>
    /// Trades a legacy backend's signed JWT for an ImFunctions token, creating the user on first login
    /// and refreshing the profile on later ones.
    /// </summary>
    static async Task<IResult> LoginWithJwt(JsonElement body, ImCall call)
    {
        var (uniIm, users, store, tokens, clock, ct) =
            (call.Get<UniImOptions>(), call.Get<UserDirectory>(), call.Get<IImStore>(), call.Get<TokenService>(), call.Get<TimeProvider>(), call.Ct);
        // uni-im clients send {"signedData": "<jwt>"}; a bare JSON string is accepted too.
        var signed = body.ValueKind switch
        {
            JsonValueKind.String => body.GetString(),
            JsonValueKind.Object when body.TryGetProperty("signedData", out var s) && s.ValueKind == JsonValueKind.String => s.GetString(),
            _ => null,
        };
        if (string.IsNullOrEmpty(signed)) return UniIm.Error(ImError.InvalidParam("signedData", "is required and must be a string"));
        if (signed.Length > 8192) return UniIm.Error(ImError.InvalidParam("signedData", "is longer than 8192 characters"));

        switch (uniIm.JwtSecret)
        {
            case null or "": return UniIm.Error(new ImError(503, ErrorCodes.JwtSecretEmpty, "jwtSecret is not configured (UniIm__JwtSecret)."));
            case UniImOptions.DemoJwtSecret: return UniIm.Error(new ImError(503, ErrorCodes.JwtSecretDemo, "jwtSecret is still uni-im's demo value; set your own."));
        }

        var verified = LegacyJwt.Verify(signed, uniIm.JwtSecret, clock.GetUtcNow());
        if (verified.Error is not null) return UniIm.Error(verified.Error);
        var info = verified.Match(i => i, _ => null!);

        // Returning users are found by a read; only a first login pays for the (race-safe) binding write.
        var uid = await store.FindUidByExtUidAsync(info.Openid, ct) ?? await store.BindExtUidAsync(info.Openid, Ids.New(), ct);
        var existing = await store.GetUserAsync(uid, ct);
        if (existing?.Deletion is not null)
        {
            // An account deletion that stopped half-way: finish it first; then this openid starts afresh.
            await call.Get<AccountDeletion>().DeleteAsync(existing, ct);
            uid = await store.BindExtUidAsync(info.Openid, Ids.New(), ct);
            existing = null;
        }
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var user = new User
        {
            Id = uid,
            ExtUid = info.Openid,
            Nickname = info.Nickname ?? existing?.Nickname,
            AvatarFile = info.AvatarFile ?? existing?.AvatarFile,
            Gender = info.Gender ?? existing?.Gender,
            Mobile = info.Mobile ?? existing?.Mobile,
            Email = info.Email ?? existing?.Email,
            Role = info.Role,
            TokenVersion = existing?.TokenVersion ?? 1,
            RevokedSessions = existing?.RevokedSessions ?? [],
            RegisterDate = existing?.RegisterDate ?? now,
            UpdateTime = now,
        };
        await users.SaveAsync(user, ct);

        UniIm.SetNewToken(call.Http, tokens.Issue(user));
        return UniIm.Ok(new { uid });
    }
}
