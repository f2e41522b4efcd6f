using System.Text.Json;
using FluentValidation;
using ImFunctions.Api.Auth;
using ImFunctions.Api.Hosting;
using ImFunctions.Core.Accounts;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Storage;

namespace ImFunctions.Api.Accounts;

/// <summary>The user's rights over their own account (SPEC §14): sessions, profile, export and deletion.</summary>
public static class AccountsApi
{
    public const string DeleteAccount = "deleteAccount";

    public static ImMethodTable AddAccounts(this ImMethodTable methods) => methods
        .Add<EmptyRequest>("logout", Logout)
        .Add<EmptyRequest>("logoutAll", LogoutAll)
        .Add<UpdateUserInfoRequest>("updateUserInfo", UpdateUserInfo)
        .Add<EmptyRequest>("exportMyData", ExportMyData)
        .Add<EmptyRequest>(DeleteAccount, DeleteAccountAsync);

    public static IServiceCollection AddAccounts(this IServiceCollection services, IConfiguration config)
    {
        services.AddSingleton(AccountOptions.FromConfiguration(config.GetSection("UniIm")));
        services.AddSingleton<IAccountStore>(sp => (IAccountStore)sp.GetRequiredService<IImStore>());
        services.AddSingleton<AccountDeletion>();
        services.AddSingleton<AccountExport>();
        services.AddSingleton<MessageRetention>();
        services.AddHostedService(sp => sp.GetRequiredService<MessageRetention>());
        return services;
    }

    /// <summary>Ends this token's session: it and every renewal of it are refused from now on.</summary>
    static async Task<IResult> Logout(EmptyRequest _, ImCall call)
    {
        var (tokens, clock) = (call.Get<TokenService>(), call.Get<TimeProvider>());
        var sid = CallerAuthentication.SessionOf(call.Http);
        await ChangeUserAsync(call, user => sid is null
            ? Sessions.RevokeAll(user)   // a token from before sessions existed can only be ended with all of them
            : Sessions.Revoke(user, sid, clock.GetUtcNow(), tokens.Lifetime));
        call.Http.Items.Remove("im.newToken");   // no renewed token for a session that just ended
        return UniIm.Ok(new { });
    }

    static async Task<IResult> LogoutAll(EmptyRequest _, ImCall call)
    {
        await ChangeUserAsync(call, Sessions.RevokeAll);
        call.Http.Items.Remove("im.newToken");
        return UniIm.Ok(new { });
    }

    static async Task<IResult> UpdateUserInfo(UpdateUserInfoRequest req, ImCall call)
    {
        var now = call.Get<TimeProvider>().GetUtcNow().ToUnixTimeMilliseconds();
        var updated = await ChangeUserAsync(call, user => user with
        {
            Nickname = req.Nickname?.Trim() ?? user.Nickname,
            AvatarFile = req.AvatarFile ?? user.AvatarFile,
            Gender = req.Gender ?? user.Gender,
            UpdateTime = now,
        });
        return UniIm.Ok(new { _id = updated.Id, nickname = updated.Nickname, avatar_file = updated.AvatarFile, gender = updated.Gender });
    }

    /// <summary>
    /// A read-modify-write of the caller's record, from the store rather than the cache so a change made on another
    /// instance a moment ago is not undone; the record is saved through the directory so this instance sees it at once.
    /// </summary>
    static async Task<User> ChangeUserAsync(ImCall call, Func<User, User> change)
    {
        var current = await call.Get<IImStore>().GetUserAsync(call.Me.Id, call.Ct) ?? call.Me;
        var next = change(current);
        await call.Get<UserDirectory>().SaveAsync(next, call.Ct);
        return next;
    }

    static Task<IResult> ExportMyData(EmptyRequest _, ImCall call) =>
        Task.FromResult<IResult>(new ExportResult(call.Get<AccountExport>(), call.Me));

    /// <summary>Erases the account; safe to call again (with the same token) when an earlier call stopped half-way.</summary>
    static async Task<IResult> DeleteAccountAsync(EmptyRequest _, ImCall call)
    {
        await call.Get<AccountDeletion>().DeleteAsync(call.Me, call.Ct);
        call.Http.Items.Remove("im.newToken");
        return UniIm.Ok(new { uid = call.Me.Id, deleted = true });
    }

    /// <summary>The export's envelope, written while the store is paged through: the data never sits in memory whole.</summary>
    sealed class ExportResult(AccountExport export, User user) : IResult
    {
        public async Task ExecuteAsync(HttpContext context)
        {
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/json; charset=utf-8";
            UniIm.MarkOk(context);
            await using var json = new Utf8JsonWriter(context.Response.BodyWriter, new JsonWriterOptions { Encoder = ImJson.Options.Encoder });
            json.WriteStartObject();
            json.WriteNumber("errCode", 0);
            json.WriteString("errMsg", "");
            if (UniIm.NewTokenOf(context) is { } token)
            {
                json.WriteStartObject("newToken");
                json.WriteString("token", token.Token);
                json.WriteNumber("tokenExpired", token.ExpiresAt.ToUnixTimeMilliseconds());
                json.WriteEndObject();
            }
            json.WritePropertyName("data");
            await export.WriteAsync(json, user, context.RequestAborted);
            json.WriteEndObject();
            await json.FlushAsync(context.RequestAborted);
        }
    }
}

/// <summary>Methods without params: any JSON object is accepted, its fields ignored.</summary>
public sealed record EmptyRequest;

public sealed record UpdateUserInfoRequest(string? Nickname, AvatarFile? AvatarFile, int? Gender)
{
    public const int MaxNickname = 50;
}

public sealed class UpdateUserInfoRequestValidator : AbstractValidator<UpdateUserInfoRequest>
{
    public UpdateUserInfoRequestValidator()
    {
        RuleFor(r => r).Must(r => r.Nickname is not null || r.AvatarFile is not null || r.Gender is not null)
            .WithName("body").WithMessage("give nickname, avatar_file or gender");
        RuleFor(r => r.Nickname).Must(n => n!.Trim().Length > 0).WithMessage("must not be blank")
            .MaximumLength(UpdateUserInfoRequest.MaxNickname).Must(n => !n!.Any(char.IsControl)).WithMessage("must not hold control characters")
            .When(r => r.Nickname is not null);
        RuleFor(r => r.Gender).InclusiveBetween(0, 2);
        RuleFor(r => r.AvatarFile!.Url).NotEmpty().MaximumLength(2048)
            .Must(u => Uri.TryCreate(u, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttps).WithMessage("must be an https URL")
            .OverridePropertyName("avatar_file.url").When(r => r.AvatarFile is not null);
        RuleFor(r => r.AvatarFile!.Name).MaximumLength(255).OverridePropertyName("avatar_file.name").When(r => r.AvatarFile is not null);
        RuleFor(r => r.AvatarFile!.Extname).MaximumLength(16).OverridePropertyName("avatar_file.extname").When(r => r.AvatarFile is not null);
    }
}
