using System.Collections;
using System.Text.Json;
using FluentValidation;
using ImFunctions.Core.Domain;

namespace ImFunctions.Api.Hosting;

/// <summary>Who may call a method.</summary>
public enum Access
{
    /// <summary>A user's ImFunctions token (or a signed server-to-server call acting as a user).</summary>
    User,
    /// <summary>Nobody needs to be known: loginWithJWT, health. Limited per client address instead of per user.</summary>
    Anonymous,
    /// <summary>Only a signed server-to-server call acting as nobody (upsertUser, sendSystemMsg, revokeUserTokens).</summary>
    Server,
}

/// <summary>
/// One uni-im method: its name is the route under <c>/api</c> and the Azure Function's name. <see cref="InvokeAsync"/>
/// binds and validates the body, then runs the feature's handler.
/// </summary>
public sealed record ImMethod(string Name, Access Access, Type RequestType, Func<ImCall, Task<IResult>> InvokeAsync);

/// <summary>The method table both hosts serve. Features add their methods with <see cref="Add{TRequest}"/>.</summary>
public sealed class ImMethodTable : IEnumerable<ImMethod>
{
    readonly Dictionary<string, ImMethod> methods = new(StringComparer.Ordinal);

    public ImMethod this[string name] => methods[name];
    public bool TryGet(string name, out ImMethod method) => methods.TryGetValue(name, out method!);

    /// <summary>
    /// Adds a method whose body binds to <typeparamref name="TRequest"/> (a record of the method's params, or
    /// <see cref="JsonElement"/> for the raw body) and is checked by its FluentValidation validator when one exists.
    /// </summary>
    public ImMethodTable Add<TRequest>(string name, Func<TRequest, ImCall, Task<IResult>> handler, Access access = Access.User)
    {
        methods.Add(name, new ImMethod(name, access, typeof(TRequest), async call =>
        {
            if (typeof(TRequest) != typeof(JsonElement) && call.Body.ValueKind != JsonValueKind.Object)
                return UniIm.Error(ImError.InvalidParam("body", "must be a JSON object"));
            var request = call.Body.Deserialize<TRequest>(ImJson.Options)!;
            if (call.Services.GetService<IValidator<TRequest>>() is { } validator)
            {
                var result = await validator.ValidateAsync(request, call.Ct);
                if (!result.IsValid) return UniIm.Error(ImError.InvalidParam(result.Errors[0].PropertyName, result.Errors[0].ErrorMessage));
            }
            return await handler(request, call);
        }));
        return this;
    }

    public IEnumerator<ImMethod> GetEnumerator() => methods.Values.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>One call of a method: the caller, the parsed body, the request's services and cancellation.</summary>
public sealed class ImCall(HttpContext http, User? caller, JsonElement body)
{
    public HttpContext Http { get; } = http;
    public JsonElement Body { get; } = body;
    public CancellationToken Ct => Http.RequestAborted;
    public IServiceProvider Services => Http.RequestServices;

    /// <summary>The authenticated caller; only methods with <see cref="Access.User"/> have one.</summary>
    public User Me => caller ?? throw new InvalidOperationException("This method is anonymous: it has no caller.");
    public User? CallerOrNull => caller;

    public T Get<T>() where T : notnull => Services.GetRequiredService<T>();
}
