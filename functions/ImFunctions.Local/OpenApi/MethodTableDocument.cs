using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using ImFunctions.Api.Hosting;
using ImFunctions.Core.Domain;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace ImFunctions.Local.OpenApi;

/// <summary>
/// The uni-im methods are not minimal-API endpoints with typed parameters (one pipeline runs them all), so ASP.NET's
/// generator sees nothing: this transformer writes one path per entry of the method table instead, with the request
/// record's fields under uni-im's wire names, the §2 envelopes and the bearer token. A method added to the table is in
/// the document without anyone touching this file.
/// </summary>
public sealed class MethodTableDocument(ImPipeline pipeline) : IOpenApiDocumentTransformer
{
    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info = new OpenApiInfo
        {
            Title = "ImFunctions (uni-im API)",
            Version = "v1",
            Description = "Every uni-im method is POST /api/<method> with a JSON object body. Success: HTTP 200 "
                + "{errCode:0, errMsg:\"\", data, newToken?}. Failure: a real 4xx/5xx status with {errCode, errMsg, errSubject}. "
                + "Sign in with loginWithJWT (a legacy backend's HS256 JWT), then send Authorization: Bearer <token>. See docs/api.md.",
        };
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes = new Dictionary<string, IOpenApiSecurityScheme>
        {
            ["bearer"] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http, Scheme = "bearer", BearerFormat = "JWT",
                Description = "The ImFunctions token from loginWithJWT (also accepted in the uni-id-token header). Renewed through newToken.",
            },
        };
        document.AddComponent<IOpenApiSchema>("ErrorEnvelope", Object(new()
        {
            ["errCode"] = new OpenApiSchema { Description = "uni-im's code: a string such as uni-im-invalid-param, or a number (1, 2, 1000, 2000, 4000, 10004, 40001)" },
            ["errMsg"] = Scalar(JsonSchemaType.String),
            ["errSubject"] = Scalar(JsonSchemaType.String),
        }));
        document.AddComponent<IOpenApiSchema>("NewToken", Object(new()
        {
            ["token"] = Scalar(JsonSchemaType.String),
            ["tokenExpired"] = Scalar(JsonSchemaType.Integer, "int64"),
        }));

        // Only the uni-im methods: the local hub's Web PubSub REST routes and the web chat's files are not this API.
        document.Paths = new OpenApiPaths();
        foreach (var method in pipeline.Methods.OrderBy(m => m.Name, StringComparer.Ordinal))
            document.Paths["/api/" + method.Name] = new OpenApiPathItem
            {
                Operations = new Dictionary<HttpMethod, OpenApiOperation> { [HttpMethod.Post] = Operation(method, document) },
            };
        return Task.CompletedTask;
    }

    static OpenApiOperation Operation(ImMethod method, OpenApiDocument document)
    {
        var feature = FeatureOf(method.RequestType);
        var operation = new OpenApiOperation
        {
            OperationId = method.Name,
            Summary = method.Name,
            Tags = new HashSet<OpenApiTagReference> { new(feature, document) },
            RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = RequestSchema(method) } },
            },
            Responses = new OpenApiResponses
            {
                ["200"] = Json("Success: the uni-im envelope with the method's data", Object(new()
                {
                    ["errCode"] = new OpenApiSchema { Type = JsonSchemaType.Integer, Enum = [0] },
                    ["errMsg"] = Scalar(JsonSchemaType.String),
                    ["data"] = new OpenApiSchema { Description = "The method's result (see docs/api.md and clients/js/src/types.ts)" },
                    ["newToken"] = new OpenApiSchemaReference("NewToken", document),
                })),
                ["400"] = Error("Invalid params (uni-im-invalid-param; errMsg names the field), or a uni-im code such as 2000", document),
                ["403"] = Error("Not allowed (uni-im-no-permission, 40001, 10004)", document),
                ["404"] = Error("Unknown receiver, conversation or message (uni-im-not-found)", document),
                ["409"] = Error("Conflict (uni-im-conflict, 1000)", document),
                ["413"] = Error("Body over the size limit (uni-im-too-large)", document),
                ["429"] = Error("Rate limited (uni-im-rate-limited, with Retry-After)", document),
                ["503"] = Error("A dependency is unavailable (uni-im-unavailable, with Retry-After), or jwtSecret is not set (4000/4100)", document),
            },
        };
        if (method.Access == Access.User)
        {
            operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("bearer", document)] = [] }];
            operation.Responses["401"] = Error("No, invalid or expired token (uni-id-check-token-failed, uni-id-token-expired)", document);
        }
        else
        {
            operation.Responses["401"] = Error("loginWithJWT: the legacy JWT is invalid or expired (errCode 1)", document);
        }
        return operation;
    }

    static IOpenApiSchema RequestSchema(ImMethod method)
    {
        if (method.RequestType == typeof(JsonElement)) // loginWithJWT reads its body itself
            return Object(new() { ["signedData"] = Scalar(JsonSchemaType.String, description: "The legacy backend's HS256 JWT") });
        var properties = new Dictionary<string, IOpenApiSchema>();
        foreach (var property in method.RequestType.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetCustomAttribute<JsonIgnoreAttribute>() is not null || property.GetIndexParameters().Length > 0) continue;
            var name = property.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name
                ?? ImJson.Options.PropertyNamingPolicy!.ConvertName(property.Name);
            properties[name] = SchemaOf(property.PropertyType);
        }
        return Object(properties);
    }

    static IOpenApiSchema SchemaOf(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string)) return Scalar(JsonSchemaType.String);
        if (type == typeof(bool)) return Scalar(JsonSchemaType.Boolean);
        if (type == typeof(int) || type == typeof(short)) return Scalar(JsonSchemaType.Integer, "int32");
        if (type == typeof(long)) return Scalar(JsonSchemaType.Integer, "int64");
        if (type == typeof(double) || type == typeof(float) || type == typeof(decimal)) return Scalar(JsonSchemaType.Number);
        if (type == typeof(JsonElement)) return new OpenApiSchema { Description = "any JSON value" };
        var element = type.IsArray ? type.GetElementType()
            : type.IsGenericType && type.GetInterfaces().Append(type).Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))
                ? type.GetGenericArguments()[0] : null;
        if (element is not null) return new OpenApiSchema { Type = JsonSchemaType.Array, Items = SchemaOf(element) };
        if (type.IsClass && type.Namespace?.StartsWith("ImFunctions", StringComparison.Ordinal) == true)
            return Object(type.GetProperties().ToDictionary(
                p => p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? ImJson.Options.PropertyNamingPolicy!.ConvertName(p.Name),
                p => SchemaOf(p.PropertyType)));
        return new OpenApiSchema { Type = JsonSchemaType.Object };
    }

    static string FeatureOf(Type requestType) =>
        requestType.Namespace is { } ns && ns.StartsWith("ImFunctions.Api.", StringComparison.Ordinal) ? ns["ImFunctions.Api.".Length..] : "Auth";

    static OpenApiSchema Object(Dictionary<string, IOpenApiSchema> properties) => new() { Type = JsonSchemaType.Object, Properties = properties };

    static OpenApiSchema Scalar(JsonSchemaType type, string? format = null, string? description = null) =>
        new() { Type = type, Format = format, Description = description };

    static OpenApiResponse Json(string description, IOpenApiSchema schema) => new()
    {
        Description = description,
        Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = schema } },
    };

    static OpenApiResponse Error(string description, OpenApiDocument document) =>
        Json(description, new OpenApiSchemaReference("ErrorEnvelope", document));
}
