export const PASSWORD = 'correct horse battery staple';

export const users = {
  admin: { email: 'ada@example.com', name: 'Ada Admin', kind: 'staff' },
  staff: { email: 'sam@example.com', name: 'Sam Staff', kind: 'staff' },
  client: { email: 'carla@example.com', name: 'Carla Client', kind: 'client' },
} as const;
