// Types for the matchers Testing.setupJest() registers (cdktf ships them untyped for jest 30).
declare namespace jest {
  interface TerraformConstructor {
    readonly tfResourceType: string;
  }
  interface Matchers<R> {
    toHaveResource(resource: TerraformConstructor): R;
    toHaveResourceWithProperties(resource: TerraformConstructor, properties: Record<string, unknown>): R;
    toHaveDataSource(dataSource: TerraformConstructor): R;
    toHaveProvider(provider: TerraformConstructor): R;
    toBeValidTerraform(): R;
  }
}
