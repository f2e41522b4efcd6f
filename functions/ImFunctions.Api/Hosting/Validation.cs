using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using FluentValidation;
using ImFunctions.Core.Domain;

namespace ImFunctions.Api.Hosting;

/// <summary>Runs the FluentValidation validator of a request type before the handler; the first failure names its field.</summary>
public static class Validation
{
    public static RouteHandlerBuilder WithValidation<T>(this RouteHandlerBuilder endpoint) where T : class =>
        endpoint.AddEndpointFilter(async (context, next) =>
        {
            var request = context.Arguments.OfType<T>().First();
            var validator = context.HttpContext.RequestServices.GetRequiredService<IValidator<T>>();
            var result = await validator.ValidateAsync(request, context.HttpContext.RequestAborted);
            if (result.IsValid) return await next(context);
            var first = result.Errors[0];
            return UniIm.Error(ImError.InvalidParam(first.PropertyName, first.ErrorMessage));
        });

    /// <summary>Field names in messages are the wire names (to_uid, appId), not the C# ones.</summary>
    public static void UseWireNames()
    {
        ValidatorOptions.Global.PropertyNameResolver = (_, member, _) => member is null ? null : WireName(member);
        ValidatorOptions.Global.DisplayNameResolver = (_, member, _) => member is null ? null : WireName(member);
    }

    static string WireName(MemberInfo member) =>
        member.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? JsonNamingPolicy.SnakeCaseLower.ConvertName(member.Name);
}

