/**
 * A string Terraform must take literally: "$${" keeps it from reading AWS placeholders such as
 * `${srcaddr}` or Athena's `${year}` as its own interpolation.
 */
export const literal = (s: string): string => s.replace(/\$\{/g, "$$${");
